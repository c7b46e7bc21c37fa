// summary.md: what a person pastes into a mailing list. New findings first, each
// with its minimized trace, its triage table and its C reproducer; then what is
// still open, flaky and fixed; then each stage's figures and the night's diff
// against the previous one.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace loopcheck::campaign {

// `out_dir`: the report folder (the triage tables and reproducers are read from it).
std::string render_markdown(const nlohmann::ordered_json& summary,
                            const std::filesystem::path& out_dir);

}  // namespace loopcheck::campaign
