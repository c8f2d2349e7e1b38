// SPDX-License-Identifier: GPL-2.0
/*
 * vidpin: DMA from user frame buffers.
 */
#include <linux/mm.h>

static int vidpin_prepare(struct vidpin_buf *buf, unsigned long uaddr, bool write)
{
	struct page *pages[VIDPIN_MAX_PAGES];
	int i, got;

	got = get_user_pages_unlocked(uaddr, buf->nr_pages, pages,
				      write ? FOLL_WRITE : 0);
	if (got < 0)
		return got;

	vidpin_start_dma(buf, pages, got);
	vidpin_wait_dma(buf);

	for (i = 0; i < got; i++) {
		if (write)
			set_page_dirty_lock(pages[i]);
		put_page(pages[i]);
	}
	return 0;
}
