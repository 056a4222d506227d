# bench/build.sh: sourced by bench/store and bench/soak from the top of the
# tree: an optimised build without sanitizers in _bench/ (cgend, cgenctl,
# and libcgen.a with ALL_LIBS in $bench_libs for programs of bench/). A tree
# configured in place cannot have a second build tree (configure refuses):
# it then builds from a clean copy of the tracked files in _bench.src/.
bench_src=$top
if [ -f "$top/config.status" ]; then
	bench_src=$top/_bench.src
	rm -rf "$bench_src" && mkdir -p "$bench_src" || exit 1
	git -C "$top" ls-files -z | (cd "$top" && xargs -0 tar -cf -) | tar -C "$bench_src" -xf - || exit 1
	rm -rf "$top/_bench"
fi
[ -x "$bench_src/configure" ] || (cd "$bench_src" && ./autogen.sh >/dev/null 2>&1) || exit 1
mkdir -p "$top/_bench" || exit 1
(
	cd "$top/_bench" || exit 1
	[ -f Makefile ] || "$bench_src/configure" CFLAGS="-O2 -g" >configure.out 2>&1 || { cat configure.out; exit 1; }
	make -j"$(nproc)" src/schema.h src/libcgen.a src/cgend src/cgenctl >make.out 2>&1 || { cat make.out; exit 1; }
) || exit 1
bench_libs=$(cd "$top/_bench" && printf 'print:\n\t@echo $(ALL_LIBS)\n' | make -s -f Makefile -f - print)
