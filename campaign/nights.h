// Several nights' reports side by side (`loopcheck report DIR...`): one row per
// night with its totals and digest, then each finding's status night by night,
// so a reader sees when a finding appeared, how long it stayed open, and when it
// was fixed.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace loopcheck::campaign {

// `summaries` in the order given; they are shown sorted by night.
std::string compare_nights_text(const std::vector<nlohmann::json>& summaries);
nlohmann::ordered_json compare_nights_json(const std::vector<nlohmann::json>& summaries);

}  // namespace loopcheck::campaign
