#include "cli/kernel_choice.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "targets/vm/boot_spec.h"

namespace loopcheck::cli {
namespace {

// Expands the keywords; false (after saying why) when "all" cannot be listed.
bool requested_versions(const std::vector<std::string>& requested,
                        std::vector<std::string>* versions) {
  for (const std::string& item : requested) {
    size_t start = 0;
    while (start <= item.size()) {
      const size_t end = std::min(item.find(',', start), item.size());
      const std::string v = item.substr(start, end - start);
      if (v == "cached") {
        for (const std::string& c : vm::cached_kernel_versions()) versions->push_back(c);
      } else if (v == "all") {
        vm::InstallableList list = vm::installable_kernel_versions();
        if (!list.ok) {
          fmt::print(stderr, "cannot list the installable kernels: {}\n", list.error);
          return false;
        }
        for (const std::string& c : list.versions) versions->push_back(c);
      } else if (!v.empty()) {
        versions->push_back(v);
      }
      start = end + 1;
    }
  }
  return true;
}

}  // namespace

bool resolve_kernels(const std::vector<std::string>& requested,
                     std::vector<vm::KernelFiles>* kernels) {
  std::vector<std::string> versions;
  if (!requested_versions(requested, &versions)) return false;
  std::sort(versions.begin(), versions.end(), vm::version_less);
  versions.erase(std::unique(versions.begin(), versions.end()), versions.end());
  if (versions.empty()) {
    fmt::print(stderr,
               "no kernels chosen: pass --kernels VERSION,..., 'cached' or 'all' (see `loopcheck "
               "kernels list`)\n");
    return false;
  }
  for (const std::string& v : versions) {
    if (!vm::is_kernel_image_path(v)) {
      vm::FetchResult r = vm::fetch_kernel(v);
      if (!r.ok) {
        fmt::print(stderr, "kernel {}: {}\n", v, r.error);
        return false;
      }
      if (!r.already_cached) fmt::print(stderr, "fetched kernel {}\n", v);
    }
    // The process's --loop-ko/--modules choice, checked against each kernel now,
    // before anything boots.
    vm::ResolvedKernel resolved = vm::resolve_vm_kernel(v, vm::loop_driver_choice());
    if (!resolved.ok) {
      fmt::print(stderr, "kernel {}: {}\n", v, resolved.error);
      return false;
    }
    kernels->push_back(resolved.files);
  }
  return true;
}

std::string vm_target_name(const vm::KernelFiles& kernel) {
  return "vm:" + (kernel.image_path ? kernel.vmlinuz : kernel.version);
}

}  // namespace loopcheck::cli
