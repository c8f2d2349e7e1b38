// SPDX-License-Identifier: GPL-2.0
/*
 * rdsx: a pinned page released with put_page() is a bug.
 */
#include <linux/mm.h>

static int rdsx_pin_one(unsigned long addr, struct page **out)
{
	struct page *page;
	int ret;

	ret = pin_user_pages_fast(addr, 1, FOLL_WRITE | FOLL_LONGTERM, &page);
	if (ret != 1)
		return -EFAULT;
	if (!rdsx_usable(page)) {
		put_page(page);
		return -EINVAL;
	}
	unpin_user_page(page);
	return 0;
}
