// `loopcheck loop-ko build --kernel RELEASE --source SRC [--headers DIR] [--out FILE]`:
// loop.ko built out of tree against the kernel's headers, cached by content
// (targets/vm/loop_ko_build.h), for `--loop-ko` (docs/custom-kernels.md).
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "targets/vm/kernel_cache.h"
#include "targets/vm/loop_ko_build.h"

namespace loopcheck::cli {
namespace {

struct LoopKoArgs {
  std::string kernel;
  std::string source;
  std::string headers;
  std::string out;
};

int build(const LoopKoArgs& args) {
  if (!vm::plausible_kernel_version(args.kernel)) {
    fmt::print(stderr,
               "--kernel '{}' is not a kernel release (expected what `uname -r` says in it, e.g. "
               "6.1.0-56-cloud-amd64)\n",
               args.kernel);
    return kExitUsage;
  }
  vm::LoopSource source;
  std::string why;
  if (!vm::load_loop_source(args.source, &source, &why)) {
    fmt::print(stderr, "{}\n", why);
    return kExitUsage;
  }
  vm::LoopKoBuild built = vm::build_loop_ko(source, args.kernel, args.headers);
  if (!built.ok) {
    fmt::print(stderr, "{}\n", built.error);
    return kExitUsage;
  }
  std::string path = built.ko_path;
  if (!args.out.empty()) {
    std::error_code ec;
    std::filesystem::copy_file(built.ko_path, args.out,
                               std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) {
      fmt::print(stderr, "cannot write {}: {}\n", args.out, ec.message());
      return kExitUsage;
    }
    path = args.out;
  }
  fmt::print(stderr, "loop.ko for {} from {}: {} in {:.1f} s (key {})\n", args.kernel,
             source.origin, built.cached ? "cached" : "built", built.seconds, built.key);
  fmt::print("{}\n", path);
  return kExitPass;
}

}  // namespace

void add_loop_ko_command(CLI::App& app, Action& action) {
  CLI::App* cmd = app.add_subcommand("loop-ko", "Build loop.ko for a kernel (for --loop-ko)");
  cmd->require_subcommand(1);
  auto args = std::make_shared<LoopKoArgs>();
  CLI::App* b = cmd->add_subcommand(
      "build", "Build loop.ko out of tree against the kernel's headers; prints its path");
  b->add_option("--kernel", args->kernel, "The kernel release, e.g. 6.1.0-56-cloud-amd64")
      ->required();
  b->add_option("--source", args->source,
                "A kernel tree, a directory holding loop.c, a source tarball, or a Debian "
                "package name such as linux-source-6.1")
      ->required();
  b->add_option("--headers", args->headers,
                "The kernel's build/headers directory (default /usr/src/linux-headers-RELEASE)");
  b->add_option("--out", args->out, "Also copy the module here");
  b->callback([args, &action] { action = [args] { return build(*args); }; });
}

LOOPCHECK_COMMAND(55, add_loop_ko_command);

}  // namespace loopcheck::cli
