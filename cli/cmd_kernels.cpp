// `loopcheck kernels list` and `loopcheck kernels fetch VERSION...`: the Debian
// kernels the VM target boots (targets/vm/kernel_cache.h, docs/vm.md).
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "cli/commands.h"
#include "targets/vm/kernel_cache.h"

namespace loopcheck::cli {
namespace {

struct KernelsArgs {
  std::vector<std::string> versions;
};

int list_kernels() {
  std::vector<std::string> cached = vm::cached_kernel_versions();
  fmt::print("cache: {}\n", vm::kernel_cache_dir());
  fmt::print("cached ({}):\n", cached.size());
  for (const std::string& v : cached) fmt::print("  {}\n", v);
  vm::InstallableList installable = vm::installable_kernel_versions();
  if (!installable.ok) {
    fmt::print(stderr, "cannot list installable kernels: {}\n", installable.error);
    return kExitUsage;
  }
  fmt::print("installable with `loopcheck kernels fetch VERSION` ({}):\n",
             installable.versions.size());
  for (const std::string& v : installable.versions) {
    bool is_cached = std::find(cached.begin(), cached.end(), v) != cached.end();
    fmt::print("  {}{}\n", v, is_cached ? "  (cached)" : "");
  }
  return kExitPass;
}

int fetch_kernels(const KernelsArgs& args) {
  int failures = 0;
  for (const std::string& version : args.versions) {
    vm::FetchResult r = vm::fetch_kernel(version);
    if (!r.ok) {
      fmt::print(stderr, "FAILED {}: {}\n", version, r.error);
      ++failures;
      continue;
    }
    fmt::print("{} {}: {} {}\n", r.already_cached ? "CACHED" : "FETCHED", version, r.files.vmlinuz,
               r.files.loop_ko);
  }
  return failures == 0 ? kExitPass : kExitUsage;
}

}  // namespace

void add_kernels_command(CLI::App& app, Action& action) {
  CLI::App* cmd = app.add_subcommand(
      "kernels", "List and fetch the Debian kernels the vm:VERSION target boots");
  cmd->require_subcommand(1);
  CLI::App* list =
      cmd->add_subcommand("list", "Cached kernels and the cloud kernels apt can download");
  list->callback([&action] { action = [] { return list_kernels(); }; });
  auto args = std::make_shared<KernelsArgs>();
  CLI::App* fetch =
      cmd->add_subcommand("fetch", "apt-get download, extract vmlinuz and loop.ko, verify, cache");
  fetch
      ->add_option("versions", args->versions,
                   "e.g. 6.1.0-56-cloud-amd64 6.12.117+deb12-cloud-amd64")
      ->required();
  fetch->callback([args, &action] { action = [args] { return fetch_kernels(*args); }; });
}

LOOPCHECK_COMMAND(50, add_kernels_command);

}  // namespace loopcheck::cli
