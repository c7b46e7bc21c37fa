#include "cli/profile_file_option.h"

#include <algorithm>
#include <filesystem>

#include "model/profile.h"
#include "profile_file/profile_document.h"
#include "targets/registry.h"

namespace loopcheck::cli {

std::string load_profile_file(const std::string& path, std::string* error) {
  ProfileFileRegistration file = register_profile_file(path);
  if (file.errors.empty()) return file.name;
  error->clear();
  for (const std::string& e : file.errors) *error += (error->empty() ? "" : "\n") + e;
  return {};
}

std::string load_named_profile(const std::string& name, std::string* error) {
  if (name.empty() || name.find('/') != std::string::npos) return {};
  const std::string path = std::string(LOOPCHECK_PROFILES_DIR) + "/" + name + ".toml";
  if (!std::filesystem::exists(path)) return {};
  return load_profile_file(path, error);
}

std::string resolve_profile_argument(std::string& argument) {
  std::string error;
  if (profile_file::names_a_file(argument)) {
    std::string name = load_profile_file(argument, &error);
    if (name.empty()) return error;
    argument = name;
  } else if (!model::find_profile(argument)) {
    std::string name = load_named_profile(argument, &error);
    if (!error.empty()) return error;
    if (!name.empty()) argument = name;  // else: unknown, reported where it is used
  }
  return {};
}

std::vector<std::string> load_checkout_profiles() {
  std::vector<std::string> errors;
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(LOOPCHECK_PROFILES_DIR, ec))
    if (entry.path().extension() == ".toml") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const std::filesystem::path& f : files) {
    std::string error;
    if (load_profile_file(f.string(), &error).empty()) errors.push_back(error);
  }
  return errors;
}

CLI::Option* add_profile_option(CLI::App* cmd, std::string* value, const std::string& help) {
  return cmd->add_option("--profile", *value, help + " (a name, or a profile file: FILE.toml)")
      ->transform(CLI::Validator(resolve_profile_argument, "NAME|FILE.toml"));
}

}  // namespace loopcheck::cli
