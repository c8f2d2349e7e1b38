// SPDX-License-Identifier: GPL-2.0
/*
 * vpin: copies a user buffer into a device window.
 */
#include <linux/mm.h>
#include <linux/slab.h>

static int vpin_copy(struct vpin_dev *vdev, unsigned long uaddr, size_t len)
{
	int nr_pages = DIV_ROUND_UP(offset_in_page(uaddr) + len, PAGE_SIZE);
	struct page **pages;
	int pinned, i, ret = 0;

	pages = kcalloc(nr_pages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;

	pinned = get_user_pages_fast(uaddr, nr_pages, 0, pages);
	if (pinned != nr_pages) {
		ret = -EFAULT;
		goto out;
	}

	for (i = 0; i < pinned; i++)
		vpin_dma_page(vdev, page_to_phys(pages[i]));

out:
	if (pinned > 0) {
		for (i = 0; i < pinned; i++)
			put_page(pages[i]);
	}
	kfree(pages);
	return ret;
}

static int vpin_peek(unsigned long uaddr, u32 *val)
{
	struct page *page;
	void *kaddr;

	if (get_user_pages_fast(uaddr, 1, 0, &page) != 1)
		return -EFAULT;
	kaddr = kmap_local_page(page);
	*val = *(u32 *)(kaddr + offset_in_page(uaddr));
	kunmap_local(kaddr);
	put_page(page);
	return 0;
}
