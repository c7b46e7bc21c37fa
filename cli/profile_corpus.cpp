#include "cli/profile_corpus.h"

#include <fmt/format.h>

#include "trace/trace_files.h"

namespace loopcheck::cli {

std::vector<std::string> default_profile_corpus() {
  return {std::string(LOOPCHECK_CORPUS_DIR) + "/conformance",
          std::string(LOOPCHECK_CORPUS_DIR) + "/ports"};
}

bool load_profile_corpus(const std::vector<std::string>& dirs, std::vector<Trace>* out) {
  LoadedTraces loaded = load_traces(dirs);
  for (const std::string& e : loaded.errors) fmt::print(stderr, "{}\n", e);
  if (!loaded.ok()) {
    fmt::print(stderr, "no profile work done: fix the corpus errors above\n");
    return false;
  }
  *out = std::move(loaded.traces);
  return true;
}

const model::Profile* profile_or_complain(const std::string& name) {
  if (const model::Profile* p = model::find_profile(name)) return p;
  fmt::print(stderr,
             "unknown profile '{}': `loopcheck profiles` lists the built-in ones; a "
             "profile file is named FILE.toml\n",
             name);
  return nullptr;
}

}  // namespace loopcheck::cli
