// Profiles as data: the built-in Linux profiles written as profiles/*.toml load
// to exactly the compiled ones, a file that contradicts a built-in is refused
// switch by switch, and every malformed file is an error naming file and line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "model/profile.h"
#include "model/profile_registry.h"
#include "model/profile_switches.h"
#include "profile_file/profile_document.h"

namespace loopcheck::model {
namespace {

const std::string kProfilesDir = std::string(LOOPCHECK_SOURCE_DIR) + "/profiles/";

profile_file::ProfileDocument load_file(const std::string& name) {
  profile_file::DocumentLoad load = profile_file::load_profile_document(kProfilesDir + name);
  EXPECT_TRUE(load.errors.empty()) << (load.errors.empty() ? "" : load.errors.front());
  return load.document;
}

std::string joined(const std::vector<std::string>& errors) {
  std::string out;
  for (const std::string& e : errors) out += e + "\n";
  return out;
}

TEST(ProfileFile, EachBuiltInFileLoadsToTheCompiledProfileItself) {
  for (const Profile* p : kProfiles) {
    profile_file::ProfileDocument d = load_file(std::string(p->name) + ".toml");
    ProfileLoad load = register_profile(d);
    ASSERT_TRUE(load.errors.empty()) << joined(load.errors);
    EXPECT_EQ(load.profile, p) << p->name;
  }
}

TEST(ProfileFile, ABuiltInFileUnderAnotherNameHasEverySwitchOfTheCompiledOne) {
  for (const Profile* p : kProfiles) {
    profile_file::ProfileDocument d = load_file(std::string(p->name) + ".toml");
    d.name = "copy-of-" + std::string(p->name);
    ProfileLoad load = register_profile(d);
    ASSERT_TRUE(load.errors.empty()) << joined(load.errors);
    ASSERT_NE(load.profile, nullptr);
    EXPECT_TRUE(switch_differences(*load.profile, *p).empty()) << p->name;
    EXPECT_EQ(load.profile->since_patch, p->since_patch);
    EXPECT_EQ(load.profile->until_patch, p->until_patch);
    EXPECT_EQ(find_profile(d.name), load.profile);
  }
}

TEST(ProfileFile, AFileContradictingABuiltInIsRefusedNamingTheSwitch) {
  profile_file::ProfileDocument d = load_file("linux-6.12.toml");
  d.settings.push_back({"large_folios", true, "a test", "t.toml:1"});
  ProfileLoad load = register_profile(d);
  EXPECT_EQ(load.profile, nullptr);
  ASSERT_EQ(load.errors.size(), 1u) << joined(load.errors);
  EXPECT_NE(load.errors[0].find("large_folios (yes vs no)"), std::string::npos) << load.errors[0];
}

TEST(ProfileFile, DragonosOverridesItsBaseInTheFiveSwitchesItNames) {
  profile_file::ProfileDocument d = load_file("dragonos.toml");
  ProfileLoad load = register_profile(d);
  ASSERT_TRUE(load.errors.empty()) << joined(load.errors);
  const Profile& p = *load.profile;
  EXPECT_EQ(p.name, "dragonos");
  EXPECT_EQ(p.unbound_io_errno, ENODEV);
  EXPECT_EQ(p.read_only_write_errno, EROFS);
  EXPECT_EQ(p.io_past_capacity_errno, ENOSPC);
  EXPECT_EQ(p.missing_device_open_errno, ENOENT);
  EXPECT_FALSE(p.deferred_detach);
  EXPECT_EQ(switch_differences(p, kLinux618).size(), 5u);
  EXPECT_EQ(find_profile("dragonos"), &p);
  EXPECT_TRUE(pin_admits("dragonos", p));
}

std::string first_error(const std::string& text) {
  profile_file::DocumentLoad doc = profile_file::parse_profile_document(text, "t.toml");
  if (!doc.errors.empty()) return doc.errors.front();
  ProfileLoad load = register_profile(doc.document);
  return load.errors.empty() ? "" : load.errors.front();
}

TEST(ProfileFile, MalformedFilesAreErrorsNamingTheFileLineAndFix) {
  const std::string head = "name = \"t\"\ndescription = \"d\"\nbase = \"linux-6.18\"\n";
  EXPECT_NE(first_error(head + "[switches.no_such]\nvalue = true\nwhy = \"w\"\n")
                .find("t.toml:4: unknown switch 'no_such'"),
            std::string::npos);
  EXPECT_NE(first_error(head + "[switches.deferred_detach]\nvalue = 3\nwhy = \"w\"\n")
                .find("expects true or false"),
            std::string::npos);
  EXPECT_NE(first_error(head + "[switches.deferred_detach]\nvalue = true\n").find("'why'"),
            std::string::npos);
  EXPECT_NE(first_error(head + "[switches.unbound_io_errno]\nvalue = \"ENOPE\"\nwhy = \"w\"\n")
                .find("errno name"),
            std::string::npos);
  EXPECT_NE(first_error(head + "colour = \"red\"\n").find("t.toml:4:1: unknown key 'colour'"),
            std::string::npos);
  EXPECT_NE(first_error("name = \"t\"\n").find("'description' is missing"), std::string::npos);
  EXPECT_NE(first_error(head + "name = = 1\n").find("t.toml:4"), std::string::npos);
  EXPECT_NE(first_error("name = \"t\"\ndescription = \"d\"\nbase = \"linux-5.10\"\n")
                .find("base 'linux-5.10' is not a profile"),
            std::string::npos);
  // Without a base every switch must be set.
  EXPECT_NE(first_error("name = \"t\"\ndescription = \"d\"\n").find("is not set"),
            std::string::npos);
  EXPECT_EQ(first_error(head), "");
}

TEST(ProfileFile, AMissingFileSaysSo) {
  profile_file::DocumentLoad load = profile_file::load_profile_document("/nonexistent/p.toml");
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_NE(load.errors[0].find("cannot read the profile file"), std::string::npos);
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(ProfileFile, ABaseFileIsReadRelativeToTheFileAndALaterSettingWins) {
  const std::string dir = ::testing::TempDir() + "/profile_file_test";
  std::filesystem::create_directories(dir);
  write_file(dir + "/parent.toml",
             "name = \"parent\"\ndescription = \"d\"\nbase = \"linux-6.18\"\n"
             "[switches.read_only_write_errno]\nvalue = \"EROFS\"\nwhy = \"w\"\n"
             "[switches.unbound_io_errno]\nvalue = \"ENODEV\"\nwhy = \"w\"\n");
  write_file(dir + "/child.toml",
             "name = \"child\"\ndescription = \"d\"\nbase = \"parent.toml\"\n"
             "[switches.read_only_write_errno]\nvalue = \"EPERM\"\nwhy = \"w\"\n");
  profile_file::DocumentLoad child = profile_file::load_profile_document(dir + "/child.toml");
  ASSERT_TRUE(child.errors.empty()) << joined(child.errors);
  EXPECT_EQ(child.document.base, "linux-6.18");
  ProfileLoad load = register_profile(child.document);
  ASSERT_TRUE(load.errors.empty()) << joined(load.errors);
  EXPECT_EQ(load.profile->read_only_write_errno, EPERM);
  EXPECT_EQ(load.profile->unbound_io_errno, ENODEV);
  // A base that names itself is a cycle, cut after kMaxBaseDepth files.
  write_file(dir + "/loop.toml", "name = \"l\"\ndescription = \"d\"\nbase = \"loop.toml\"\n");
  EXPECT_NE(joined(profile_file::load_profile_document(dir + "/loop.toml").errors).find("deep"),
            std::string::npos);
}

}  // namespace
}  // namespace loopcheck::model
