// A port profile as data: one TOML file (profiles/*.toml) naming a base profile
// and the switches it overrides, each with the reason. The model
// (model/profile_registry.h) and the in-process driver
// (inproc/driver_profile_registry.h) each turn the same document into their own
// profile struct through their own switch tables, so a profile file configures
// both without the two sharing code. docs/profiles.md describes the format.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace loopcheck::profile_file {

// A switch's value as written: true/false, an integer, or a word (an errno name
// such as "EROFS", an enum value such as "MinDioAlign").
using SettingValue = std::variant<bool, int64_t, std::string>;

struct SwitchSetting {
  std::string name;
  SettingValue value;
  std::string why;     // the override's description (required)
  std::string source;  // "profiles/dragonos.toml:12", for error messages
};

struct ProfileDocument {
  std::string path;         // the file it came from
  std::string name;         // the profile's name ("dragonos"); a trace pins it with @profile
  std::string series;       // defaults to name
  std::string base;         // a built-in profile's name; empty: every switch is set here
  std::string description;  // what the profile stands for, and its sources
  uint16_t since_patch = 0;
  uint16_t until_patch = 0;
  // In file order; a base given as another file ("base = 'other.toml'") has its
  // settings first, so a later setting of the same switch wins.
  std::vector<SwitchSetting> settings;
};

struct DocumentLoad {
  ProfileDocument document;
  std::vector<std::string> errors;  // "path:line:col: message"; empty on success
};

// Reads and checks a profile file (syntax, keys, types; not switch names, which
// each consumer checks against its own table). A base ending in ".toml" is read
// relative to the file, up to kMaxBaseDepth files deep.
DocumentLoad load_profile_document(const std::string& path);
DocumentLoad parse_profile_document(const std::string& text, const std::string& path);

inline constexpr int kMaxBaseDepth = 8;

// The value as TOML writes it: true, 64, "EROFS".
std::string format_setting(const SettingValue& value);

// Whether a --profile argument names a file rather than a profile.
bool names_a_file(const std::string& argument);

}  // namespace loopcheck::profile_file
