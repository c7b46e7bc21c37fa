#include "fuzz/findings.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "trace/print.h"

namespace loopcheck::fuzz {
namespace {

constexpr std::string_view kSignaturePrefix = "# signature: ";
constexpr std::string_view kTriagePrefix = "# triage";

// The file split into its header lines (each without its newline) and the rest.
struct SplitFile {
  std::vector<std::string> header;
  std::string body;
};

SplitFile split_header(std::string_view text) {
  SplitFile out;
  size_t pos = 0;
  while (pos < text.size() && text[pos] == '#') {
    const size_t end = text.find('\n', pos);
    const size_t stop = end == std::string_view::npos ? text.size() : end;
    out.header.emplace_back(text.substr(pos, stop - pos));
    pos = end == std::string_view::npos ? text.size() : end + 1;
  }
  out.body = std::string(text.substr(pos));
  return out;
}

std::string join(const SplitFile& f) {
  std::string out;
  for (const std::string& line : f.header) out += line + "\n";
  return out + f.body;
}

}  // namespace

std::set<std::string> known_signatures(const std::string& dir) {
  namespace fs = std::filesystem;
  std::set<std::string> known;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return known;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir, ec)) {
    if (!e.is_regular_file() || e.path().extension() != ".trace") continue;
    std::ifstream in(e.path());
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with(kSignaturePrefix)) known.insert(line.substr(kSignaturePrefix.size()));
      if (!line.starts_with("#")) break;  // the header ends at the first statement line
    }
  }
  return known;
}

std::string finding_file_name(const std::string& signature) {
  return fmt::format("finding-{:016x}.trace", XXH3_64bits(signature.data(), signature.size()));
}

std::string finding_file_text(const Trace& trace, const Finding& finding, std::string_view origin,
                              const std::optional<MutationSequence>& mutations) {
  std::string out;
  out += fmt::format("{}{}\n", kSignaturePrefix, finding.signature);
  out += fmt::format("# found by: {} (profile {})\n", origin, trace.profile);
  if (mutations) out += fmt::format("# mutations: {}\n", mutations->format());
  out += fmt::format("# fails at statement {} of {}\n", finding.step + 1, trace.stmts.size());
  std::istringstream detail(finding.detail);
  for (std::string line; std::getline(detail, line);) out += "# " + line + "\n";
  out += print_trace(trace);
  return out;
}

std::optional<std::string> header_value(std::string_view text, std::string_view prefix) {
  for (const std::string& line : split_header(text).header) {
    if (line.starts_with(prefix)) return line.substr(prefix.size());
  }
  return std::nullopt;
}

std::string with_signature(std::string_view text, std::string_view signature) {
  SplitFile f = split_header(text);
  const std::string line = std::string(kSignaturePrefix) + std::string(signature);
  auto it = std::find_if(f.header.begin(), f.header.end(),
                         [](const std::string& l) { return l.starts_with(kSignaturePrefix); });
  if (it == f.header.end()) {
    f.header.insert(f.header.begin(), line);
  } else {
    *it = line;
  }
  return join(f);
}

// "6.1.0-56-cloud-amd64" of "# triage 6.1.0-56-cloud-amd64 (linux-6.1.192, ...): ...";
// empty for a line that names no kernel.
std::string_view triage_kernel(std::string_view line) {
  if (!line.starts_with(kTriagePrefix)) return {};
  line.remove_prefix(kTriagePrefix.size());
  if (!line.starts_with(' ')) return {};
  line.remove_prefix(1);
  if (line.starts_with('(')) return {};
  const size_t end = std::min(line.find(" ("), line.find(':'));
  return end == std::string_view::npos ? std::string_view{} : line.substr(0, end);
}

std::string with_triage_lines(std::string_view text, const std::vector<std::string>& lines) {
  SplitFile f = split_header(text);
  std::vector<std::string> fresh = lines;
  for (std::string& old : f.header) {
    if (!old.starts_with(kTriagePrefix)) continue;
    const std::string_view kernel = triage_kernel(old);
    auto same = std::find_if(fresh.begin(), fresh.end(), [&](const std::string& l) {
      return !kernel.empty() && triage_kernel(l) == kernel;
    });
    if (kernel.empty()) {
      old.clear();  // a line naming no kernel: dropped below
    } else if (same != fresh.end()) {
      old = *same;  // the same kernel again: replaced in place
      fresh.erase(same);
    }
  }
  std::erase_if(f.header, [](const std::string& l) { return l.empty(); });
  auto last = std::find_if(f.header.rbegin(), f.header.rend(), [](const std::string& l) {
    return l.starts_with(kTriagePrefix) || l.starts_with(kSignaturePrefix);
  });
  const auto at = last == f.header.rend() ? f.header.begin() : last.base();
  f.header.insert(at, fresh.begin(), fresh.end());
  return join(f);
}

void write_finding_file(const std::string& path, std::string_view text) {
  namespace fs = std::filesystem;
  fs::path partial = path;
  partial += ".partial";
  {
    std::ofstream file(partial, std::ios::binary | std::ios::trunc);
    file << text;
    if (!file.flush()) throw std::runtime_error(partial.string() + ": write failed");
  }
  fs::rename(partial, path);
}

std::string store_finding(const std::string& dir, const Trace& trace, const Finding& finding,
                          std::string_view origin,
                          const std::optional<MutationSequence>& mutations) {
  namespace fs = std::filesystem;
  if (known_signatures(dir).contains(finding.signature)) return {};
  fs::create_directories(dir);
  const fs::path path = fs::path(dir) / finding_file_name(finding.signature);
  write_finding_file(path.string(), finding_file_text(trace, finding, origin, mutations));
  return path.string();
}

}  // namespace loopcheck::fuzz
