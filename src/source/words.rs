//! Which identifiers a file may hold, kept from the one read of the tree so
//! that later searches read only the files that can match.
//!
//! A `WordFilter` holds two Bloom filters over the file's words (maximal
//! runs of ASCII letters, digits and underscores that start with a letter or
//! an underscore, comments and strings included): one of every word, one of
//! the words that may begin a function definition (followed by `(` on a line
//! that starts with a letter or an underscore and not with `return`, the
//! test the tree search applies), which also holds, hashed apart, the
//! structs the file declares one object of (`struct NAME member;`, as
//! `embedded_at` finds them). Words shorter than three bytes are left
//! out (every filter may hold them). Neither ever answers "absent" for a word
//! the file holds that way, so a search that asks the filter first and then
//! checks the bytes of the files it lets through finds exactly what a search
//! of every file finds. Either may answer "present" for a word the file does
//! not hold (about one word in three hundred in a filter folded as far as
//! it goes, more in files with many words for their size); that costs one
//! read.
//!
//! The filter of all words takes a third of a bit per byte of the file, at
//! least `MIN_BLOOM_WORDS` 64-bit words, folded to half its length while
//! it stays sparse (`MAX_FOLDED_FILL`); the filter of defined words takes
//! `BITS_PER_DEFINITION` bits per word it holds; a word sets `PROBES` bits
//! of each. A whole tree's filters (about 50 MB for Linux) are packed into
//! one buffer (`WordFilters`).
//! Building them is one pass over bytes the first read already holds: a
//! bit mask of the word bytes, 64 at a time (sixteen bytes per SSE2
//! comparison on x86-64), the words' first and last bytes found from it
//! with bit operations, then one hash per word.

/// Bytes of file per bit of the filter of all words.
const BYTES_PER_WORD_BIT: usize = 3;
/// Bits of the filter of defined words per word it holds: with `PROBES`
/// (five) bit positions per word, about one word in 4,300 not held is let
/// through (0.19 of the bits set, to the fifth power). Every search for a
/// definition asks the filter of every file, so the rate must be that low:
/// with three positions per word, 48 bits were needed for it (at 32 bits
/// the searches of a whole 6.1 run read 7 % more files, at 16 bits 57 %
/// more). With five, 48 bits would read 1,400 files fewer of the 17,000 a
/// whole 6.1 run reads, for 3.4 MB more.
const BITS_PER_DEFINITION: usize = 24;
/// 64-bit words the filter of all words takes at least (2,048 bits). The
/// filters of small files, sized by their bytes alone, fill up and let
/// most words through:
/// on the Linux 6.1 tree the searches of a run read 86,000 files without
/// this floor and 22,000 with it, for the same 316 files found (three bit
/// positions per word).
const MIN_BLOOM_WORDS: usize = 32;
/// The share of set bits a filter of all words may have once folded
/// (`Bloom::folded`): a word it does not hold is let through about as
/// often as this share to the power `PROBES` (0.31 to the fifth: one in
/// 350). A file that repeats its words (tables, generated headers) sets few
/// of the bits its size gives it; folded, the filters of the Linux 6.1
/// tree take 50 MB instead of 61 MB.
const MAX_FOLDED_FILL: f64 = 0.31;
/// Bit positions a word sets in a filter, and a probe asks. With three
/// (the folds stopping at a fifth of the bits set, the filter of defined
/// words at 48 bits a word), the searches of a whole 6.1 run read 24,700
/// files; with the folds stopping where the filters keep those sizes and
/// the filter of defined words at 24 bits a word, four positions read
/// 20,100, five 17,100, six 15,500. Each position is one more bit set per
/// word when the filters are made; a filter with many words for its size
/// lets more through with more positions, but most files' filters fold.
const PROBES: usize = 5;

/// A word to ask filters about, hashed once. A string of several words
/// (`drm_i915_gem_object.mm`, a member reached through another) is asked
/// by its words: where the string stands as a whole word, each of its
/// maximal runs of word bytes stands as a whole word too.
#[derive(Clone, Debug)]
pub struct WordProbe {
    /// `None` for a string that is not a word: the filter of definitions
    /// knows only words, so it answers "may" for it.
    hash: Option<u64>,
    /// The string's runs of word bytes the filter of all words keeps (three
    /// bytes or more, not starting with a digit), hashed; none, and the
    /// filter answers "may", when it keeps none of them.
    runs: Vec<u64>,
}

impl WordProbe {
    pub fn new(word: &str) -> WordProbe {
        let runs = word
            .as_bytes()
            .split(|&b| !IS_WORD[usize::from(b)])
            .filter(|run| run.len() >= MIN_WORD && !run[0].is_ascii_digit())
            .map(hash)
            .collect();
        WordProbe {
            hash: is_word(word).then(|| hash(word.as_bytes())),
            runs,
        }
    }
}

/// Bloom filters over the words of one file.
#[derive(Clone, Debug)]
pub struct WordFilter {
    words: Bloom,
    definitions: Bloom,
}

/// Whether a byte continues a word.
const fn word_bytes() -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'_';
        b += 1;
    }
    t
}

static IS_WORD: [bool; 256] = word_bytes();

/// Words shorter than this are not kept: every filter may hold them.
const MIN_WORD: usize = 3;

const K: u64 = 0x517c_c1b7_2722_0a95;

/// Mixes eight bytes (little-endian, zero-padded) into a hash.
#[inline]
fn mix(h: u64, v: u64) -> u64 {
    (h ^ v).wrapping_mul(K).rotate_left(31)
}

#[inline]
fn finish(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// The hash of a word.
fn hash(word: &[u8]) -> u64 {
    let mut h = (word.len() as u64).wrapping_mul(K);
    for chunk in word.chunks(8) {
        let mut v = [0u8; 8];
        v[..chunk.len()].copy_from_slice(chunk);
        h = mix(h, u64::from_le_bytes(v));
    }
    finish(h)
}

/// The bytes of a word of one to eight bytes as a little-endian integer,
/// zero past its end.
#[inline]
fn short_word(bytes: &[u8], start: usize, end: usize) -> u64 {
    let len = end - start;
    match bytes.get(start..start + 8) {
        Some(eight) => {
            let v = u64::from_le_bytes(eight.try_into().expect("eight bytes"));
            if len == 8 {
                v
            } else {
                v & ((1u64 << (8 * len)) - 1)
            }
        }
        None => {
            let mut v = [0u8; 8];
            v[..len].copy_from_slice(&bytes[start..end]);
            u64::from_le_bytes(v)
        }
    }
}

/// `hash(&bytes[start..end])`, reading whole eight-byte loads where the
/// buffer allows.
#[inline]
fn hash_in(bytes: &[u8], start: usize, end: usize) -> u64 {
    let mut h = ((end - start) as u64).wrapping_mul(K);
    let mut at = start;
    while at < end {
        let take = (end - at).min(8);
        h = mix(h, short_word(bytes, at, at + take));
        at += take;
    }
    finish(h)
}

/// One bit per byte of `bytes`, set for the bytes that continue a word.
fn word_masks(bytes: &[u8]) -> Vec<u64> {
    let mut masks = Vec::with_capacity(bytes.len().div_ceil(64));
    let blocks = bytes.chunks_exact(64);
    let tail = blocks.remainder();
    masks.extend(blocks.map(block_mask));
    if !tail.is_empty() {
        masks.push(scalar_mask(tail));
    }
    masks
}

/// The word-byte mask of up to 64 bytes, a byte at a time.
fn scalar_mask(block: &[u8]) -> u64 {
    block.iter().enumerate().fold(0u64, |m, (j, &b)| {
        m | (u64::from(IS_WORD[usize::from(b)]) << j)
    })
}

/// The word-byte mask of 64 bytes, sixteen at a time with SSE2 (which every
/// x86-64 processor has): a byte continues a word when it is a letter
/// (`b | 0x20` in `a..=z`), a digit or `_`, each range tested as one
/// unsigned comparison of the byte minus the range's start.
#[cfg(target_arch = "x86_64")]
fn block_mask(block: &[u8]) -> u64 {
    use std::arch::x86_64::*;
    debug_assert_eq!(block.len(), 64);
    let mut mask = 0u64;
    for (i, sixteen) in block.chunks_exact(16).enumerate() {
        // SAFETY: SSE2 is part of the x86-64 baseline, and the unaligned
        // load reads the sixteen bytes of `sixteen`.
        let bits = unsafe {
            let v = _mm_loadu_si128(sixteen.as_ptr().cast());
            let within = |x: __m128i, start: u8, len: u8| {
                let d = _mm_sub_epi8(x, _mm_set1_epi8(start as i8));
                _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(len as i8)), d)
            };
            let letter = within(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'a', 25);
            let digit = within(v, b'0', 9);
            let underscore = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'_' as i8));
            _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(letter, digit), underscore)) as u16
        };
        mask |= u64::from(bits) << (16 * i);
    }
    mask
}

#[cfg(not(target_arch = "x86_64"))]
fn block_mask(block: &[u8]) -> u64 {
    scalar_mask(block)
}

/// The set bits of masks derived block by block from the word masks, in
/// order: a few instructions per bit (count the trailing zeros, clear the
/// lowest bit), whatever the length of the runs between them.
struct SetBits<'m, F: Fn(&[u64], usize) -> u64> {
    masks: &'m [u64],
    derive: F,
    block: usize,
    bits: u64,
}

impl<'m, F: Fn(&[u64], usize) -> u64> SetBits<'m, F> {
    fn new(masks: &'m [u64], derive: F) -> SetBits<'m, F> {
        let bits = if masks.is_empty() {
            0
        } else {
            derive(masks, 0)
        };
        SetBits {
            masks,
            derive,
            block: 0,
            bits,
        }
    }
}

impl<F: Fn(&[u64], usize) -> u64> Iterator for SetBits<'_, F> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.bits == 0 {
            self.block += 1;
            if self.block >= self.masks.len() {
                return None;
            }
            self.bits = (self.derive)(self.masks, self.block);
        }
        let bit = self.bits.trailing_zeros() as usize;
        self.bits &= self.bits - 1;
        Some(self.block * 64 + bit)
    }
}

/// (start, end) of every maximal run of word bytes, in order: the runs'
/// first bytes (a word byte after a non-word byte) paired with their last
/// bytes (a word byte before a non-word byte), which alternate.
fn word_spans(masks: &[u64]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let firsts = SetBits::new(masks, |m: &[u64], i: usize| {
        let before = if i > 0 { m[i - 1] >> 63 } else { 0 };
        m[i] & !((m[i] << 1) | before)
    });
    let lasts = SetBits::new(masks, |m: &[u64], i: usize| {
        let after = m.get(i + 1).map_or(0, |next| next << 63);
        m[i] & !((m[i] >> 1) | after)
    });
    firsts.zip(lasts).map(|(first, last)| (first, last + 1))
}

/// A Bloom filter with `PROBES` bit positions per word, over `len` bits (the
/// storage rounded up to whole 64-bit words; the bits past `len` stay
/// clear and are never asked).
#[derive(Clone, Debug)]
struct Bloom {
    bits: Box<[u64]>,
    len: u32,
}

impl Bloom {
    fn for_bytes(len: usize, bytes_per_bit: usize) -> Bloom {
        Bloom::zeroed((len / bytes_per_bit).div_ceil(64).max(MIN_BLOOM_WORDS))
    }

    /// A filter of `bits_per_word` bits for each of `count` words (64 bits
    /// at least).
    fn for_words(count: usize, bits_per_word: usize) -> Bloom {
        Bloom::zeroed((count * bits_per_word).div_ceil(64).max(1))
    }

    fn zeroed(words: usize) -> Bloom {
        let len = u32::try_from(words * 64).expect("a filter of fewer than 2^32 bits");
        Bloom {
            bits: vec![0u64; words].into_boxed_slice(),
            len,
        }
    }

    #[inline]
    fn insert(&mut self, h: u64) {
        for p in positions(self.len, h) {
            self.bits[p / 64] |= 1 << (p % 64);
        }
    }

    /// The filter folded while it stays sparse: each fold makes bit `p`
    /// bit `p / 2` of a filter half as long, which is where `positions`
    /// puts every word for the shorter length, so nothing held is lost;
    /// it stops at `MIN_BLOOM_WORDS` 64-bit words, or before the share of
    /// set bits would pass `MAX_FOLDED_FILL`.
    fn folded(mut self) -> Bloom {
        let min_len = MIN_BLOOM_WORDS * 64;
        while self.len.is_multiple_of(2) && self.len as usize / 2 >= min_len {
            let half = fold(&self.bits, self.len);
            let set: u32 = half.iter().map(|w| w.count_ones()).sum();
            if f64::from(set) > MAX_FOLDED_FILL * f64::from(self.len / 2) {
                break;
            }
            self.bits = half;
            self.len /= 2;
        }
        self
    }

    /// The filter asked in place (tests ask owned filters; the pipeline
    /// asks packed ones, `WordFilters::get`).
    #[cfg(test)]
    fn view(&self) -> BloomRef<'_> {
        BloomRef {
            bits: &self.bits,
            len: self.len,
        }
    }
}

/// A Bloom filter's bits, where they are kept (`Bloom`, `WordFilters`).
#[derive(Clone, Copy, Debug)]
struct BloomRef<'b> {
    bits: &'b [u64],
    len: u32,
}

impl BloomRef<'_> {
    fn may_contain(&self, h: u64) -> bool {
        positions(self.len, h)
            .iter()
            .all(|&p| self.bits[p / 64] & (1 << (p % 64)) != 0)
    }
}

/// A Bloom filter of `len` bits sets `PROBES` bit positions for a word,
/// from the two 32-bit halves `a` and `b` of its hash by double hashing
/// (`a + i * b`, modulo 2^32), each mapped onto the length by a
/// multiply-shift (no division): `x * len >> 32`, which for half the
/// length is that position halved.
#[inline]
fn positions(len: u32, h: u64) -> [usize; PROBES] {
    let len = u64::from(len);
    let (a, b) = (h & 0xffff_ffff, h >> 32);
    std::array::from_fn(|i| {
        let x = a.wrapping_add(b.wrapping_mul(i as u64)) & 0xffff_ffff;
        ((x * len) >> 32) as usize
    })
}

/// The bits of a filter of `len` bits (an even number) folded onto half
/// the length: bit `p` of the result is bits `2p` and `2p + 1` or-ed.
fn fold(bits: &[u64], len: u32) -> Box<[u64]> {
    let half = (len / 2) as usize;
    let mut out = vec![0u64; half.div_ceil(64)];
    for (i, &w) in bits.iter().enumerate() {
        let pairs = squeeze_pairs(w | (w >> 1));
        out[i / 2] |= pairs << (32 * (i % 2));
    }
    out.into_boxed_slice()
}

/// The even bits of a word, in order, as a 32-bit value.
#[inline]
fn squeeze_pairs(w: u64) -> u64 {
    let mut x = w & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0f0f_0f0f_0f0f_0f0f;
    x = (x | (x >> 4)) & 0x00ff_00ff_00ff_00ff;
    x = (x | (x >> 8)) & 0x0000_ffff_0000_ffff;
    (x | (x >> 16)) & 0x0000_0000_ffff_ffff
}

impl WordFilter {
    /// The filters of a file's bytes.
    pub fn of(bytes: &[u8]) -> WordFilter {
        let mut words = Bloom::for_bytes(bytes.len(), BYTES_PER_WORD_BIT);
        // A file defines few words; they are gathered first so that the
        // filter is sized by their number.
        let mut defined = Vec::new();
        // Every word is hashed and inserted, repeats too: an insert of a
        // word already held changes no bit, and a cache of the words met
        // last, to skip repeats, saved no time (its hits are branches the
        // processor cannot predict).
        let masks = word_masks(bytes);
        // The structs this file embeds (`struct NAME member;`, as
        // `embedded_at` finds them) follow a word hashed as `struct` is
        // (which `embedded_at` reads again).
        let struct_hash = hash(b"struct");
        let mut before = 0;
        for (start, end) in word_spans(&masks) {
            if end - start < MIN_WORD || bytes[start].is_ascii_digit() {
                continue;
            }
            let definition = bytes.get(end) == Some(&b'(') && begins_definition(bytes, start);
            let h = hash_in(bytes, start, end);
            words.insert(h);
            if definition {
                defined.push(h);
            }
            if before == struct_hash && embedded_at(bytes, start, end - start) {
                defined.push(embedded(h));
            }
            before = h;
        }
        let mut definitions = Bloom::for_words(defined.len(), BITS_PER_DEFINITION);
        for h in defined {
            definitions.insert(h);
        }
        WordFilter {
            words: words.folded(),
            definitions,
        }
    }

    /// The filters asked in place, as `WordFilters::get` gives them.
    #[cfg(test)]
    fn view(&self) -> FilterRef<'_> {
        FilterRef {
            words: self.words.view(),
            definitions: self.definitions.view(),
        }
    }

    /// Bytes the filters take.
    fn size(&self) -> usize {
        (self.words.bits.len() + self.definitions.bits.len()) * 8
    }
}

/// The filters of one file, where they are kept.
#[derive(Clone, Copy, Debug)]
pub struct FilterRef<'f> {
    words: BloomRef<'f>,
    definitions: BloomRef<'f>,
}

impl FilterRef<'_> {
    /// Whether the file may hold the word as a whole word (no letter, digit
    /// or underscore on either side), or, for a string of several words,
    /// each of them.
    pub fn may_hold(&self, word: &WordProbe) -> bool {
        word.runs.iter().all(|&h| self.words.may_contain(h))
    }

    /// Whether the file may name the word where a function definition
    /// begins: as a whole word followed by `(` where `begins_definition`
    /// says one may.
    pub fn may_define(&self, word: &WordProbe) -> bool {
        match word.hash {
            Some(h) => self.definitions.may_contain(h),
            None => true,
        }
    }

    /// Whether the file may declare one object of the struct the word
    /// names, `struct NAME member;` as `embedded_at` finds it: the filter
    /// of definitions holds those names too, hashed apart (`embedded`).
    pub fn may_embed(&self, word: &WordProbe) -> bool {
        match word.hash {
            Some(h) => self.definitions.may_contain(embedded(h)),
            None => true,
        }
    }
}

/// The word filters of every file of a list, packed into one buffer: a
/// whole tree's filters are tens of megabytes in some fifty thousand
/// pieces, which the allocator would round up one by one.
#[derive(Debug, Default)]
pub struct WordFilters {
    bits: Vec<u64>,
    /// Per file: where its filters start in `bits` and their lengths in
    /// bits; `None` for a file that has none (it was not read).
    files: Vec<Option<PackedFilter>>,
}

#[derive(Clone, Copy, Debug)]
struct PackedFilter {
    at: usize,
    words: u32,
    definitions: u32,
}

impl PackedFilter {
    /// The 64-bit words its two filters take.
    fn size(&self) -> usize {
        (self.words as usize).div_ceil(64) + (self.definitions as usize).div_ceil(64)
    }
}

/// Where a file's filters stand in the bits of an index of the tree, laid
/// out as `WordFilters` lays them out (the index checked that they fit).
#[derive(Clone, Copy, Debug)]
pub struct IndexedFilter(PackedFilter);

impl IndexedFilter {
    pub(super) fn new(at: usize, words: u32, definitions: u32) -> IndexedFilter {
        IndexedFilter(PackedFilter {
            at,
            words,
            definitions,
        })
    }
}

/// A file's filters to pack (`WordFilters::pack_onto`).
pub enum Packed {
    /// The file has none (it was not read).
    None,
    Built(WordFilter),
    /// Already in the bits packed onto.
    Indexed(IndexedFilter),
}

impl WordFilters {
    /// The filters given, in order, packed; each is dropped once copied.
    pub fn pack(filters: Vec<Option<WordFilter>>) -> WordFilters {
        let filters = (filters.into_iter())
            .map(|f| f.map_or(Packed::None, Packed::Built))
            .collect();
        WordFilters::pack_onto(Vec::new(), filters)
    }

    /// The filters given, in order, packed after `bits` (an index's), which
    /// hold those given as `Packed::Indexed`. When those take less than half
    /// of `bits` (most of the tree changed since the index was written),
    /// they are copied into a buffer of their own and `bits` is dropped
    /// before the filters built are packed: the index's bits, the filters
    /// built and the buffer they are packed into are never all held at
    /// once (on a whole Linux tree every file of which had changed, 46 MB
    /// more than a run writing a new index held).
    pub fn pack_onto(bits: Vec<u64>, filters: Vec<Packed>) -> WordFilters {
        let built: usize = (filters.iter())
            .map(|f| match f {
                Packed::Built(f) => f.size() / 8,
                Packed::None | Packed::Indexed(_) => 0,
            })
            .sum();
        let indexed: usize = (filters.iter())
            .map(|f| match f {
                Packed::Indexed(IndexedFilter(p)) => p.size(),
                Packed::None | Packed::Built(_) => 0,
            })
            .sum();
        let (bits, moved_from) = if indexed * 2 < bits.len() {
            (Vec::with_capacity(indexed + built), Some(bits))
        } else {
            let mut bits = bits;
            bits.reserve_exact(built);
            (bits, None)
        };
        let mut packed = WordFilters {
            bits,
            files: Vec::with_capacity(filters.len()),
        };
        // The index's filters still used, first: moved into the buffer of
        // their own, or left where they are.
        let mut entries: Vec<Option<PackedFilter>> = Vec::with_capacity(filters.len());
        for filter in &filters {
            entries.push(match (filter, &moved_from) {
                (Packed::Indexed(IndexedFilter(p)), Some(from)) => {
                    let at = packed.bits.len();
                    packed.bits.extend_from_slice(&from[p.at..p.at + p.size()]);
                    Some(PackedFilter { at, ..*p })
                }
                (Packed::Indexed(IndexedFilter(p)), None) => Some(*p),
                (Packed::None | Packed::Built(_), _) => None,
            });
        }
        drop(moved_from);
        for (filter, entry) in filters.into_iter().zip(entries) {
            let entry = match filter {
                Packed::None => None,
                Packed::Indexed(_) => entry,
                Packed::Built(f) => {
                    let at = packed.bits.len();
                    packed.bits.extend_from_slice(&f.words.bits);
                    packed.bits.extend_from_slice(&f.definitions.bits);
                    Some(PackedFilter {
                        at,
                        words: f.words.len,
                        definitions: f.definitions.len,
                    })
                }
            };
            packed.files.push(entry);
        }
        packed
    }

    /// The filters of the file at `index` as bits and lengths: what `get`
    /// asks, and what an index of the tree keeps.
    pub(super) fn raw(&self, index: usize) -> Option<RawFilter<'_>> {
        let p = self.files.get(index).copied().flatten()?;
        let words_end = p.at + (p.words as usize).div_ceil(64);
        let definitions_end = words_end + (p.definitions as usize).div_ceil(64);
        Some(RawFilter {
            words: (&self.bits[p.at..words_end], p.words),
            definitions: (&self.bits[words_end..definitions_end], p.definitions),
        })
    }

    /// The filters of the file at `index` in the list, if it has any.
    pub fn get(&self, index: usize) -> Option<FilterRef<'_>> {
        let raw = self.raw(index)?;
        Some(FilterRef {
            words: BloomRef {
                bits: raw.words.0,
                len: raw.words.1,
            },
            definitions: BloomRef {
                bits: raw.definitions.0,
                len: raw.definitions.1,
            },
        })
    }
}

/// A file's two filters as bits and their lengths in bits: the filter of
/// all words, then the filter of defined words.
#[derive(Clone, Copy, Debug)]
pub(super) struct RawFilter<'f> {
    pub(super) words: (&'f [u64], u32),
    pub(super) definitions: (&'f [u64], u32),
}

/// What decides a filter's bits: the constants above and the hash. An
/// index of the tree kept by an earlier build whose filters differ has
/// another fingerprint, and is not used. The filter of a fixed text is
/// hashed too, so that a change of the hash or of the word spans changes
/// it even where no constant moved.
pub(super) fn fingerprint() -> u64 {
    const SAMPLE: &[u8] = b"struct toy_holder {\n\tstruct toy_list node;\n};\nstatic int toy_pin(struct page **pages, unsigned long nr)\n{\n\treturn get_user_pages_fast(start, nr, FOLL_WRITE, pages);\n}\n#define TOY_RELEASE(p) put_page(p)\n";
    let filter = WordFilter::of(SAMPLE);
    let mut h = hash(b"pinpatch word filters");
    for v in [
        BYTES_PER_WORD_BIT as u64,
        BITS_PER_DEFINITION as u64,
        MIN_BLOOM_WORDS as u64,
        MAX_FOLDED_FILL.to_bits(),
        MIN_WORD as u64,
        PROBES as u64,
        u64::from(filter.words.len),
        u64::from(filter.definitions.len),
    ] {
        h = mix(h, v);
    }
    for &w in filter
        .words
        .bits
        .iter()
        .chain(filter.definitions.bits.iter())
    {
        h = mix(h, w);
    }
    finish(h)
}

/// A hash of a byte string, for fingerprints and checksums (not a word's
/// hash: the same function, named for what it is used for there).
pub(super) fn hash_bytes(bytes: &[u8]) -> u64 {
    hash(bytes)
}

/// `hash_bytes` of a byte string of known length fed in pieces, as an
/// index of the tree is read.
pub(super) struct HashStream {
    h: u64,
    pending: [u8; 8],
    filled: usize,
}

impl HashStream {
    pub(super) fn new(len: u64) -> HashStream {
        HashStream {
            h: len.wrapping_mul(K),
            pending: [0; 8],
            filled: 0,
        }
    }

    pub(super) fn feed(&mut self, mut bytes: &[u8]) {
        if self.filled > 0 {
            let take = (8 - self.filled).min(bytes.len());
            self.pending[self.filled..self.filled + take].copy_from_slice(&bytes[..take]);
            self.filled += take;
            bytes = &bytes[take..];
            if self.filled < 8 {
                return;
            }
            self.h = mix(self.h, u64::from_le_bytes(self.pending));
            self.filled = 0;
        }
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.h = mix(self.h, u64::from_le_bytes(chunk.try_into().expect("eight")));
        }
        let rest = chunks.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.filled = rest.len();
    }

    pub(super) fn finish(mut self) -> u64 {
        if self.filled > 0 {
            self.pending[self.filled..].fill(0);
            self.h = mix(self.h, u64::from_le_bytes(self.pending));
        }
        finish(self.h)
    }
}

/// The hash the filter of definitions keeps for a struct a file embeds,
/// told apart from a function of the same name that it defines.
fn embedded(h: u64) -> u64 {
    finish(h ^ 0x5bd1_e995_9e37_79b9)
}

/// Whether the whole word at `at` (of `len` bytes) is the struct name of a
/// declaration of one object of that struct: `struct NAME member;` (or
/// `member[`, `member:`). A member of a struct definition has that shape;
/// so has a local variable, which only costs the file a read.
pub(crate) fn embedded_at(bytes: &[u8], at: usize, len: usize) -> bool {
    let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let is_word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    // What follows first: most `struct NAME` are followed by `*` or `{`.
    let rest = &bytes[at + len..];
    let rest = &rest[rest.iter().take_while(|b| blank(b)).count()..];
    let name = rest.iter().take_while(|b| is_word(b)).count();
    if name == 0 || rest[0].is_ascii_digit() {
        return false;
    }
    let after = &rest[name..];
    let after = &after[after.iter().take_while(|b| blank(b)).count()..];
    if !matches!(after.first(), Some(b';' | b'[' | b':')) {
        return false;
    }
    let before = bytes[..at].iter().rev().take_while(|b| blank(b)).count();
    let Some(head) = at.checked_sub(before).and_then(|end| bytes.get(..end)) else {
        return false;
    };
    head.ends_with(b"struct") && !(head.len() > 6 && is_word(&head[head.len() - 7]))
}

/// Whether the word at `start` (followed by `(`) may begin a definition:
/// a function's (its line starts with a letter or an underscore, not with
/// `return`, or the line is the name itself after the stars of a pointer
/// return type written on the line above: `static struct x\n*name(`) or a
/// function-like macro's (`#define word(`).
pub(crate) fn begins_definition(bytes: &[u8], start: usize) -> bool {
    let line_start = memchr::memrchr(b'\n', &bytes[..start]).map_or(0, |p| p + 1);
    let head = &bytes[line_start..start];
    let first = bytes[line_start];
    ((first.is_ascii_alphabetic() || first == b'_') && !head.starts_with(b"return"))
        || (!head.is_empty() && head.iter().all(|&b| b == b'*'))
        || is_define_head(head)
}

/// `#define ` with any blanks around `define`: what precedes a macro's name.
fn is_define_head(head: &[u8]) -> bool {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let rest = &head[head.iter().take_while(|b| blank(b)).count()..];
    let Some(rest) = rest.strip_prefix(b"#") else {
        return false;
    };
    let rest = &rest[rest.iter().take_while(|b| blank(b)).count()..];
    let Some(rest) = rest.strip_prefix(b"define") else {
        return false;
    };
    !rest.is_empty() && rest.iter().all(blank)
}

fn is_word(word: &str) -> bool {
    let w = word.as_bytes();
    w.len() >= MIN_WORD && !w[0].is_ascii_digit() && w.iter().all(|&b| IS_WORD[usize::from(b)])
}

#[cfg(test)]
mod tests {
    use super::{FilterRef, WordFilter, WordFilters, WordProbe};

    fn holds(f: &WordFilter, w: &str) -> bool {
        f.view().may_hold(&WordProbe::new(w))
    }

    fn defines(f: &WordFilter, w: &str) -> bool {
        f.view().may_define(&WordProbe::new(w))
    }

    /// A packed filter answers every question about `words` as the filter
    /// it was packed from does.
    fn check_packed_answers(packed: FilterRef, own: &WordFilter, words: &[String], what: &str) {
        for w in words {
            let probe = WordProbe::new(w);
            assert_eq!(
                packed.may_hold(&probe),
                own.view().may_hold(&probe),
                "{w} in {what}"
            );
            assert_eq!(
                packed.may_define(&probe),
                own.view().may_define(&probe),
                "{w} in {what}"
            );
            assert_eq!(
                packed.may_embed(&probe),
                own.view().may_embed(&probe),
                "{w} in {what}"
            );
        }
    }

    #[test]
    fn a_hash_fed_in_pieces_is_the_hash_of_the_whole() {
        let bytes: Vec<u8> = (0..200u32).map(|i| (i * 37 % 251) as u8).collect();
        for len in [0, 1, 7, 8, 9, 63, 64, 65, 200] {
            let whole = super::hash_bytes(&bytes[..len]);
            for piece in [1, 3, 8, 13] {
                let mut stream = super::HashStream::new(len as u64);
                for chunk in bytes[..len].chunks(piece) {
                    stream.feed(chunk);
                }
                assert_eq!(stream.finish(), whole, "{len} bytes in pieces of {piece}");
            }
        }
    }

    #[test]
    fn word_masks_match_the_byte_table() {
        let all: Vec<u8> = (0..=255u8)
            .chain(b"put_page(x->y_z9);\n".iter().copied())
            .collect();
        let bytes: Vec<u8> = all.iter().cycle().take(64 * 9 + 37).copied().collect();
        let masks = super::word_masks(&bytes);
        assert_eq!(masks.len(), 10);
        for (i, &b) in bytes.iter().enumerate() {
            let bit = masks[i / 64] >> (i % 64) & 1 == 1;
            assert_eq!(bit, super::IS_WORD[usize::from(b)], "byte {b:#x} at {i}");
        }
    }

    #[test]
    fn a_string_of_several_words_is_asked_by_its_words() {
        let f = WordFilter::of(b"\tn = obj->toy_mm.pages;\n\tgnttab_op.u.ref = 1;\n");
        // Each word of the string is held: it may be there.
        assert!(holds(&f, "obj.toy_mm"));
        assert!(holds(&f, "gnttab_op.u"));
        // One of its words is not: it is not there.
        assert!(!holds(&f, "toy_obj.toy_mm"));
        assert!(!holds(&f, "other_op.u"));
        // Nothing the filter keeps (words of one or two bytes): it may be.
        assert!(holds(&f, "a.b"));
        // The filter of definitions knows whole words only.
        assert!(defines(&f, "obj.toy_mm"));
    }

    #[test]
    fn the_filter_of_definitions_is_sized_by_the_words_defined() {
        let none = WordFilter::of(b"\tx = toy_call(z);\n");
        assert!(!defines(&none, "toy_call"));
        let names: Vec<String> = (0..200)
            .map(|i| format!("int toy_fn{i}(void);\n"))
            .collect();
        let many = WordFilter::of(names.concat().as_bytes());
        assert!((0..200).all(|i| defines(&many, &format!("toy_fn{i}"))));
        let let_through = (0..10_000)
            .filter(|i| defines(&many, &format!("other_fn{i}")))
            .count();
        assert!(
            let_through < 20,
            "{let_through} of 10,000 words not defined let through"
        );
    }

    #[test]
    fn every_whole_word_is_found() {
        let text = b"static int rds_pin_pages(struct page **pages) { /* put_page */ x->sg_len = 3; a1b _c 9z }";
        let f = WordFilter::of(text);
        for w in [
            "static",
            "rds_pin_pages",
            "page",
            "pages",
            "put_page",
            "x",
            "sg_len",
            "a1b",
            "_c",
            "9z",
        ] {
            assert!(holds(&f, w), "{w}");
        }
        assert!(defines(&f, "rds_pin_pages"));
        assert!(!defines(&f, "put_page"));
        let f = WordFilter::of(b"int fun(void)\n{\n\treturn gee(1);\n}\nreturn hoo(2);\n");
        assert!(defines(&f, "fun"));
        assert!(!defines(&f, "gee"));
        assert!(!defines(&f, "hoo"));
        // A pointer return type on the line above, and a comment's star.
        let f = WordFilter::of(b"static struct d\n*prep_xfer(int a)\n{\n}\n * doc_only() - x\n");
        assert!(defines(&f, "prep_xfer"));
        assert!(!defines(&f, "doc_only"));
        // Not words: always "may".
        let f = WordFilter::of(b"");
        assert!(holds(&f, "9z"));
        assert!(holds(&f, "ab"));
        assert!(holds(&f, "a b"));
        assert!(holds(&f, ""));
    }

    #[test]
    fn word_runs_are_found_across_blocks() {
        // Runs of every length up to 130 bytes, separated by one or two
        // non-word bytes, so that runs begin and end at every position of a
        // 64-bit block and cross block boundaries.
        let mut text = Vec::new();
        for len in 1..=130usize {
            text.extend((0..len).map(|i| b"a_Z9"[i % 4]));
            text.extend_from_slice(if len % 3 == 0 { b" (" } else { b"\n" });
        }
        text.extend_from_slice(b"tail_word");
        for cut in [text.len(), 64, 65, 127, 128, 1, 0] {
            let bytes = &text[..cut];
            let mut expected = Vec::new();
            let mut i = 0;
            while i < bytes.len() {
                if super::IS_WORD[usize::from(bytes[i])] {
                    let start = i;
                    while i < bytes.len() && super::IS_WORD[usize::from(bytes[i])] {
                        i += 1;
                    }
                    expected.push((start, i));
                } else {
                    i += 1;
                }
            }
            let found: Vec<(usize, usize)> = super::word_spans(&super::word_masks(bytes)).collect();
            assert_eq!(found, expected, "first {cut} bytes");
        }
    }

    #[test]
    fn hashing_in_place_equals_hashing_the_word() {
        let text = b"a_rather_long_identifier_name x1 abcdefgh abcdefghi tail";
        let mut at = 0;
        for w in std::str::from_utf8(text).unwrap().split(' ') {
            assert_eq!(
                super::hash_in(text, at, at + w.len()),
                super::hash(w.as_bytes()),
                "{w}"
            );
            at += w.len() + 1;
        }
    }

    #[test]
    fn a_fold_keeps_every_bit_at_half_its_position() {
        let mut bits = vec![0u64; 3];
        for p in [0usize, 1, 63, 64, 65, 127, 128, 150, 191] {
            bits[p / 64] |= 1 << (p % 64);
        }
        let half = super::fold(&bits, 192);
        assert_eq!(half.len(), 2);
        let set: Vec<usize> = (0..96)
            .filter(|&p| half[p / 64] >> (p % 64) & 1 == 1)
            .collect();
        assert_eq!(set, [0, 31, 32, 63, 64, 75, 95]);
    }

    #[test]
    fn a_sparse_filter_is_folded_and_still_holds_its_words() {
        // A large file that repeats few words: sized by its bytes, its
        // filter would be mostly clear.
        let text: String = (0..40_000)
            .map(|i| format!("toy_word_{} ", i % 150))
            .collect();
        let f = WordFilter::of(text.as_bytes());
        let unfolded_bytes = (text.len() / super::BYTES_PER_WORD_BIT).div_ceil(64) * 8;
        assert!(
            f.size() * 4 < unfolded_bytes,
            "{} of {unfolded_bytes} bytes",
            f.size()
        );
        assert!((0..150).all(|i| holds(&f, &format!("toy_word_{i}"))));
        let let_through = (0..10_000)
            .filter(|i| holds(&f, &format!("other_word_{i}")))
            .count();
        assert!(
            let_through < 100,
            "{let_through} of 10,000 words not held let through"
        );
    }

    #[test]
    fn packed_filters_answer_as_their_files_do() {
        let texts = [
            "int toy_a(void);\nstatic int toy_b(int x)\n{\n\treturn toy_c(x);\n}\n".to_string(),
            (0..3000).map(|i| format!("toy_word_{} ", i % 40)).collect(),
            String::new(),
            // 12,450 bytes size a filter of 65 64-bit words, folded once to
            // 2,080 bits: half of its last word lies past its length.
            format!("{}  ", "toy_odd ".repeat(1556)),
        ];
        let own: Vec<WordFilter> = texts.iter().map(|t| WordFilter::of(t.as_bytes())).collect();
        assert_eq!(own[3].words.len, 2080);
        let mut given: Vec<Option<WordFilter>> = own.iter().cloned().map(Some).collect();
        given.insert(1, None);
        let packed = WordFilters::pack(given);
        assert!(packed.get(1).is_none());
        assert!(packed.get(5).is_none());
        let asked: Vec<String> = (0..40)
            .map(|i| format!("toy_word_{i}"))
            .chain(["toy_a", "toy_b", "toy_c", "toy_odd", "return", "other"].map(String::from))
            .collect();
        for (f, at) in own.iter().zip([0, 2, 3, 4]) {
            let p = packed.get(at).expect("a packed filter");
            check_packed_answers(p, f, &asked, &format!("file {at}"));
        }
    }

    #[test]
    fn filters_packed_onto_an_index_answer_as_built_whatever_share_is_used() {
        use super::{IndexedFilter, Packed};
        let texts: Vec<String> = (0..6)
            .map(|k| {
                (0..400 * (k + 1))
                    .map(|i| format!("toy_{k}_{} ", i % 90))
                    .collect()
            })
            .collect();
        let own: Vec<WordFilter> = texts.iter().map(|t| WordFilter::of(t.as_bytes())).collect();
        let index = WordFilters::pack(own.iter().cloned().map(Some).collect());
        let indexed = |i: usize| {
            let p = index.files[i].expect("packed");
            Packed::Indexed(IndexedFilter::new(p.at, p.words, p.definitions))
        };
        // Files 0..used still known to the index, the others built again:
        // the first file's filters take less than half of the index's bits,
        // the first five's more, so with one used or none they are not kept.
        let size = |files: &[WordFilter]| files.iter().map(|f| f.size() / 8).sum::<usize>();
        assert!(size(&own[..1]) * 2 < index.bits.len() && size(&own[..5]) * 2 > index.bits.len());
        for (used, compacted) in [(0, true), (1, true), (5, false), (6, false)] {
            let given: Vec<Packed> = (0..6)
                .map(|i| match i < used {
                    true => indexed(i),
                    false => Packed::Built(own[i].clone()),
                })
                .collect();
            let kept = WordFilters::pack_onto(index.bits.clone(), given);
            // Compacted, only the filters used are kept of the index's bits.
            let (held, of_index) = (size(&own), size(&own[..used]));
            let expected = match compacted {
                true => held,
                false => index.bits.len() + held - of_index,
            };
            assert_eq!(kept.bits.len(), expected, "{used} used");
            for (i, f) in own.iter().enumerate() {
                let asked: Vec<String> = (0..90)
                    .map(|j| format!("toy_{i}_{j}"))
                    .chain(["toy_x_1".into()])
                    .collect();
                let p = kept.get(i).expect("a packed filter");
                check_packed_answers(p, f, &asked, &format!("file {i}, {used} used"));
            }
        }
    }

    #[test]
    fn every_struct_a_file_embeds_is_in_its_filter() {
        use super::embedded_at;
        // Every shape of `struct NAME member;` and its near misses: each
        // struct the bytes embed as `embedded_at` finds it is let through.
        let blanks = ["", " ", "\t", "\n", "  \r\n", "/**/"];
        let mut embedding = 0;
        for prefix in ["", "x", "_", " ", "\n"] {
            for (first, second) in blanks.iter().flat_map(|a| blanks.map(|b| (*a, b))) {
                for member in ["m9", "9z", "*m", "m", "toy_b"] {
                    for third in ["", " ", "\n"] {
                        for end in [";", "[", ":", ",", ")"] {
                            let text =
                                format!("{prefix}struct{first}toy_a{second}{member}{third}{end}");
                            // The search asks at whole words only.
                            let at = text.find("toy_a").expect("written");
                            let whole = [at.checked_sub(1), Some(at + 5)]
                                .into_iter()
                                .flatten()
                                .all(|i| {
                                    text.as_bytes()
                                        .get(i)
                                        .is_none_or(|&b| !super::IS_WORD[usize::from(b)])
                                });
                            if whole && embedded_at(text.as_bytes(), at, 5) {
                                embedding += 1;
                                let f = WordFilter::of(text.as_bytes());
                                assert!(f.view().may_embed(&WordProbe::new("toy_a")), "{text:?}");
                            }
                        }
                    }
                }
            }
        }
        assert!(embedding > 500, "{embedding} embeddings written");
        // A struct only pointed to, or only defined, is not embedded.
        let f = WordFilter::of(
            b"struct toy_dev {\n\tstruct toy_list *next;\n\tstruct toy_page pg;\n};\n",
        );
        assert!(f.view().may_embed(&WordProbe::new("toy_page")));
        assert!(!f.view().may_embed(&WordProbe::new("toy_list")));
        assert!(!f.view().may_embed(&WordProbe::new("toy_dev")));
        // A function of the struct's name is no embedding, nor the reverse.
        let f = WordFilter::of(b"int toy_page(int x)\n{\n\treturn x;\n}\n");
        assert!(!f.view().may_embed(&WordProbe::new("toy_page")));
        assert!(f.view().may_define(&WordProbe::new("toy_page")));
    }

    #[test]
    fn words_absent_are_mostly_rejected() {
        // Code repeats its words: 200 words, each used ten times.
        let text: String = (0..2000).map(|i| format!("ident_{} ", i % 200)).collect();
        let f = WordFilter::of(text.as_bytes());
        for i in 0..200 {
            assert!(holds(&f, &format!("ident_{i}")));
        }
        let false_positives = (0..2000)
            .filter(|i| holds(&f, &format!("other_{i}")))
            .count();
        assert!(
            false_positives < 100,
            "{false_positives} false positives of 2000"
        );
        // Parts of words are not words of the file.
        assert!(!holds(
            &WordFilter::of(b"get_user_pages_fast"),
            "get_user_pages"
        ));
    }
}
