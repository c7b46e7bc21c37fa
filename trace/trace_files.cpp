#include "trace/trace_files.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "trace/parse.h"

namespace loopcheck {

namespace fs = std::filesystem;

std::vector<std::string> expand_trace_paths(const std::vector<std::string>& paths,
                                            std::vector<std::string>* errors) {
  std::vector<std::string> out;
  for (const std::string& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::recursive_directory_iterator(path, ec)) {
        if (entry.is_regular_file() && entry.path().extension() == ".trace")
          found.push_back(entry.path().string());
      }
      if (ec) errors->push_back(fmt::format("{}: cannot list directory: {}", path, ec.message()));
      if (found.empty() && !ec)
        errors->push_back(fmt::format("{}: no *.trace files in this directory", path));
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::exists(path, ec)) {
      out.push_back(path);
    } else {
      errors->push_back(fmt::format("{}: no such file or directory", path));
    }
  }
  return out;
}

LoadedTraces load_traces(const std::vector<std::string>& paths) {
  LoadedTraces loaded;
  for (const std::string& path : expand_trace_paths(paths, &loaded.errors)) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      loaded.errors.push_back(fmt::format("{}: cannot read this file", path));
      continue;
    }
    std::stringstream text;
    text << in.rdbuf();
    ParseResult parsed = parse_trace(text.str(), path);
    if (!parsed.ok()) {
      for (const ParseError& e : parsed.errors) loaded.errors.push_back(e.format());
      continue;
    }
    parsed.trace.source = path;
    loaded.traces.push_back(std::move(parsed.trace));
  }
  return loaded;
}

}  // namespace loopcheck
