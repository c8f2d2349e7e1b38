//! Typed indices of the flow analysis: a file of the analysed set, a
//! function of the program, a unit (an acquire's flow). Each is a newtype so
//! that one cannot be used for another, and `IdVec` is a vector indexed by one.

use std::marker::PhantomData;
use std::ops::{Index, IndexMut};

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);

        impl $name {
            pub fn index(self) -> usize {
                self.0 as usize
            }
            pub fn from_index(i: usize) -> $name {
                $name(u32::try_from(i).expect("fewer than 2^32 items"))
            }
        }
    };
}

id!(
    /// A file given to the analysis, by its position in the input.
    FileId
);
id!(
    /// A function of the program (every analysed function of every file).
    FuncId
);
id!(
    /// A unit before merging: the flow seeded by one acquired location.
    UnitId
);

/// A vector indexed by a typed id.
#[derive(Debug)]
pub struct IdVec<I, T> {
    items: Vec<T>,
    id: PhantomData<I>,
}

impl<I, T> Default for IdVec<I, T> {
    fn default() -> Self {
        IdVec {
            items: Vec::new(),
            id: PhantomData,
        }
    }
}

pub trait Id: Copy {
    fn index(self) -> usize;
    fn from_index(i: usize) -> Self;
}

macro_rules! impl_id {
    ($($name:ident),*) => {$(
        impl Id for $name {
            fn index(self) -> usize {
                $name::index(self)
            }
            fn from_index(i: usize) -> Self {
                $name::from_index(i)
            }
        }
    )*};
}
impl_id!(FileId, FuncId, UnitId);

impl<I: Id, T> IdVec<I, T> {
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// Appends an item and returns its id.
    pub fn push(&mut self, item: T) -> I {
        let id = I::from_index(self.items.len());
        self.items.push(item);
        id
    }
    pub fn ids(&self) -> impl DoubleEndedIterator<Item = I> + ExactSizeIterator {
        (0..self.items.len()).map(I::from_index)
    }
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }
    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, T> {
        self.items.iter_mut()
    }
    pub fn iter_enumerated(&self) -> impl Iterator<Item = (I, &T)> {
        self.items
            .iter()
            .enumerate()
            .map(|(i, t)| (I::from_index(i), t))
    }
    pub fn as_slice(&self) -> &[T] {
        &self.items
    }
}

impl<I: Id, T> Index<I> for IdVec<I, T> {
    type Output = T;
    fn index(&self, id: I) -> &T {
        &self.items[id.index()]
    }
}

impl<I: Id, T> IndexMut<I> for IdVec<I, T> {
    fn index_mut(&mut self, id: I) -> &mut T {
        &mut self.items[id.index()]
    }
}
