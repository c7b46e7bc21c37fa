// Building loop.ko out of tree against a kernel's headers, cached by content.
//
// The source is a loop.c (and, before 5.x merged it, a loop.h); the build is
// `make -C /usr/src/linux-headers-RELEASE M=DIR modules` with a one-line Kbuild
// (`obj-m := loop.o`), exactly what docs/custom-kernels.md does by hand. A build
// is keyed by the XXH3-128 of everything that decides its output (the release,
// loop.c, loop.h, the headers' Module.symvers), so the same source is built
// once: the mutation analysis builds hundreds of variants of one loop.c through
// build_loop_ko(), each in its own directory, so several may run at once.
#pragma once

#include <string>
#include <string_view>

namespace loopcheck::vm {

struct LoopSource {
  std::string loop_c;
  std::string loop_h;  // empty when the tree has none (6.1 and later keep it in loop.c)
  std::string origin;  // where it came from, for messages
};

// Reads the source from `source`: a directory holding loop.c or
// drivers/block/loop.c, a kernel source tarball (.tar.xz/.tar.gz/.tar.zst), or
// a Debian package name such as linux-source-6.1 (its /usr/src tarball; the
// extracted files are cached, as a tarball takes a while to read).
bool load_loop_source(std::string_view source, LoopSource* out, std::string* why);

struct LoopKoBuild {
  bool ok = false;
  bool cached = false;  // an earlier build of the same inputs was reused
  std::string ko_path;  // the built loop.ko, inside the cache
  std::string key;      // hex content hash of the inputs
  std::string log;      // the compiler's output (also on failure)
  std::string error;    // names the problem and the fix
  double seconds = 0;   // wall time of this call
};

// The headers directory a release builds against: /usr/src/linux-headers-RELEASE.
std::string headers_dir_for(std::string_view release);

// Builds (or finds in the cache) loop.ko for kernel `release` from `source`.
// `headers_dir` empty means headers_dir_for(release).
LoopKoBuild build_loop_ko(const LoopSource& source, std::string_view release,
                          const std::string& headers_dir = {});

// $LOOPCHECK_CACHE/loop-ko, else beside the kernel cache (…/loopcheck/loop-ko).
std::string loop_ko_cache_dir();

}  // namespace loopcheck::vm
