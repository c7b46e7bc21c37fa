#include "mutants/source.h"

#include <fmt/format.h>

#include <filesystem>

namespace loopcheck::mutants {

size_t count_unreachable_mutants(const ParsedSource& parsed, std::string_view source) {
  ParsedSource all_reachable = parsed;
  for (FunctionSpan& f : all_reachable.functions) f.reach = Unreachable::Reachable;
  return generate_mutants(all_reachable, source).size() - generate_mutants(parsed, source).size();
}

bool make_mutant_set(const SetOptions& options, MutantSet* out, std::string* why) {
  const std::string headers =
      options.headers.empty() ? vm::headers_dir_for(options.release) : options.headers;
  std::vector<std::string> args = kernel_clang_args(headers, why);
  if (args.empty()) return false;
  MutantSet set;
  if (!vm::load_loop_source(options.source, &set.source, why)) return false;
  if (!parse_source(set.source.loop_c, "loop.c", args, &set.parsed, why)) return false;
  if (set.parsed.functions.size() < 10) {
    *why = fmt::format(
        "{}: libclang found {} functions in loop.c ({} errors): is it loop.c, "
        "and are the headers at {} the kernel's?",
        set.source.origin, set.parsed.functions.size(), set.parsed.diagnostics_errors, headers);
    return false;
  }
  set.all = generate_mutants(set.parsed, set.source.loop_c);
  set.skipped_unreachable = count_unreachable_mutants(set.parsed, set.source.loop_c);
  set.selected =
      options.max_count ? select_mutants(set.all, options.max_count, options.seed) : set.all;
  *out = std::move(set);
  return true;
}

}  // namespace loopcheck::mutants
