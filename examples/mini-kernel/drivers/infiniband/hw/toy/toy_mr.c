// SPDX-License-Identifier: GPL-2.0
/*
 * toy: memory regions whose pages live as long as the region.
 */
#include <linux/mm.h>

struct toy_mr {
	struct page **page_list;
	int npages;
};

int toy_reg_user_mr(struct toy_mr *mr, unsigned long start)
{
	int got;

	got = get_user_pages_fast(start, mr->npages, FOLL_WRITE | FOLL_LONGTERM,
				  mr->page_list);
	if (got != mr->npages)
		return -EFAULT;
	return 0;
}

void toy_dereg_mr(struct toy_mr *mr)
{
	int i;

	for (i = 0; i < mr->npages; i++)
		put_page(mr->page_list[i]);
}
