#!/bin/sh
# Compares pinpatch's recipients with scripts/get_maintainer.pl on a kernel tree.
#
# For each file below, pinpatch writes a one-file format-patch mail with a
# small edit; get_maintainer.pl --nogit --nogit-fallback --nogit-chief-penguins
# --norolestats is run on that mail from the top of the tree. Three things are
# compared: the exact output (order included), the output as a set (Perl
# orders sections with equal scores randomly), and the set of the patch's
# To: + Cc: headers against the output.
#
# usage: bench/maintainers-compare.sh [TREE]   (default ~/.cache/kernel-trees/linux-6.1)
set -eu
tree=${1:-$HOME/.cache/kernel-trees/linux-6.1}
here=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

files="
drivers/infiniband/hw/hfi1/user_pages.c
drivers/infiniband/hw/qib/qib_user_pages.c
drivers/infiniband/hw/usnic/usnic_uiom.c
drivers/infiniband/hw/mthca/mthca_memfree.c
drivers/infiniband/core/umem.c
drivers/infiniband/sw/siw/siw_mem.c
drivers/gpu/drm/i915/gem/i915_gem_userptr.c
drivers/gpu/drm/amd/amdgpu/amdgpu_ttm.c
drivers/gpu/drm/amd/amdkfd/kfd_chardev.c
drivers/gpu/drm/etnaviv/etnaviv_gem.c
drivers/gpu/drm/exynos/exynos_drm_g2d.c
drivers/gpu/drm/radeon/radeon_ttm.c
net/rds/rdma.c
net/rds/info.c
net/ceph/pagevec.c
fs/fuse/dev.c
fs/fuse/file.c
fs/nfs/direct.c
fs/ceph/file.c
fs/exec.c
mm/gup.c
mm/process_vm_access.c
drivers/vfio/vfio_iommu_type1.c
drivers/vfio/vfio_iommu_spapr_tce.c
drivers/media/pci/ivtv/ivtv-udma.c
drivers/media/v4l2-core/videobuf-dma-sg.c
drivers/misc/habanalabs/common/memory.c
drivers/misc/genwqe/card_utils.c
drivers/xen/gntdev.c
drivers/xen/privcmd.c
arch/x86/kvm/svm/sev.c
arch/powerpc/kvm/book3s_64_mmu_hv.c
virt/kvm/kvm_main.c
lib/iov_iter.c
io_uring/rsrc.c
block/bio.c
drivers/platform/goldfish/goldfish_pipe.c
drivers/fpga/dfl-afu-dma-region.c
drivers/rapidio/devices/rio_mport_cdev.c
drivers/tee/tee_shm.c
drivers/net/ethernet/mellanox/mlx5/core/en_main.c
sound/core/pcm_native.c
drivers/gpu/drm/mediatek/mtk_drm_gem.c
arch/riscv/mm/init.c
kernel/bpf/syscall.c
drivers/net/ethernet/intel/ice/ice_xsk.c
arch/arm64/kernel/mte.c
drivers/tty/serial/imx.c
init/main.c
Makefile
"

(cd "$here" && cargo build --quiet --offline --example series_compare)
# shellcheck disable=SC2086
"$here/target/debug/examples/series_compare" "$tree" "$out" $files

total=0 exact=0 sameset=0 tocc=0
n=0
for f in $files; do
	# Perl orders sections with equal scores by its randomised hash order,
	# so a file whose sections tie may print differently from run to run;
	# up to five runs are tried before the order counts as different.
	for try in 1 2 3 4 5; do
		(cd "$tree" && perl scripts/get_maintainer.pl --nogit --nogit-fallback \
			--nogit-chief-penguins --norolestats "$out/$n.patch") >"$out/$n.perl" 2>"$out/$n.err"
		cmp -s "$out/$n.perl" "$out/$n.ours" && break
	done
	total=$((total + 1))
	if cmp -s "$out/$n.perl" "$out/$n.ours"; then
		exact=$((exact + 1))
	else
		echo "== $f: output differs (order or content)"
		diff "$out/$n.perl" "$out/$n.ours" | sed 's/^/   /' || true
	fi
	if [ "$(sort "$out/$n.perl")" = "$(sort "$out/$n.ours")" ]; then
		sameset=$((sameset + 1))
	else
		echo "== $f: address set differs"
	fi
	if [ "$(sort "$out/$n.perl")" = "$(sort "$out/$n.tocc")" ]; then
		tocc=$((tocc + 1))
	else
		echo "== $f: To:+Cc: differ from get_maintainer.pl"
	fi
	n=$((n + 1))
done
echo "files: $total; identical output (in one of up to 5 Perl runs): $exact; same address set: $sameset; To+Cc equal: $tocc"
