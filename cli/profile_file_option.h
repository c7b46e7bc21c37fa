// `--profile` takes a built-in profile name, a profile file (profiles/*.toml),
// or the name of a file in the checkout's profiles/ directory ("dragonos").
// A file is read once, at argument parsing, and registered with the model and
// the in-process driver; the option's value becomes the profile's name, so the
// rest of a command finds it with find_profile like a built-in one.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace loopcheck::cli {

// Loads and registers a profile file; the profile's name, or the errors (each
// naming the file and line) joined with newlines in *error.
std::string load_profile_file(const std::string& path, std::string* error);

// A profile named by a file in the checkout's profiles/ directory, loaded if it
// is there: its name, or empty (and *error set only if the file is broken).
std::string load_named_profile(const std::string& name, std::string* error);

// A --profile argument made a registered profile's name: a file is loaded, a
// name of a file in profiles/ too; an error text, or empty (an unknown plain
// name is left for the command to report).
std::string resolve_profile_argument(std::string& argument);

// Loads every profiles/*.toml of the checkout (the values `profile infer` may
// try); the errors of broken files, each naming the file.
std::vector<std::string> load_checkout_profiles();

// Adds --profile to `cmd`, with the loading above as its transform.
CLI::Option* add_profile_option(CLI::App* cmd, std::string* value, const std::string& help);

}  // namespace loopcheck::cli
