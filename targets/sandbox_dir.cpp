#include "targets/sandbox_dir.h"

#include "targets/partition_table_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>
#include <vector>

namespace loopcheck::host {
namespace {

// Removes everything below dirfd, descending at most `depth` levels.
int remove_contents(int dirfd, int depth) {
  int dup_fd = ::dup(dirfd);
  if (dup_fd < 0) return errno;
  DIR* dir = ::fdopendir(dup_fd);
  if (!dir) {
    int err = errno;
    ::close(dup_fd);
    return err;
  }
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(dir)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
      names.emplace_back(e->d_name);
  }
  ::closedir(dir);
  int first_err = 0;
  for (const std::string& name : names) {
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      int sub = depth > 0
                    ? ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    : -1;
      if (sub >= 0) {
        int err = remove_contents(sub, depth - 1);
        ::close(sub);
        if (err && !first_err) first_err = err;
      }
      if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && !first_err) first_err = errno;
    } else if (::unlinkat(dirfd, name.c_str(), 0) != 0 && !first_err) {
      first_err = errno;
    }
  }
  return first_err;
}

// The owner pid in "<prefix><pid>-XXXXXX", or 0 when `name` has another shape.
pid_t owner_of(std::string_view name, std::string_view prefix) {
  if (!name.starts_with(prefix)) return 0;
  name.remove_prefix(prefix.size());
  const size_t dash = name.find('-');
  if (dash == 0 || dash == std::string_view::npos) return 0;
  pid_t pid = 0;
  for (char c : name.substr(0, dash)) {
    if (c < '0' || c > '9' || pid > 100000000) return 0;
    pid = pid * 10 + (c - '0');
  }
  return pid;
}

}  // namespace

int make_sandbox_dir(const std::string& parent, std::string* path) {
  std::string tmpl = parent + "/" + std::string(kSandboxPrefix) + "XXXXXX";
  if (!::mkdtemp(tmpl.data())) return errno;
  *path = tmpl;
  return 0;
}

int make_owned_sandbox_dir(const std::string& parent, std::string_view prefix, std::string* path) {
  std::string tmpl = parent + "/" + std::string(prefix) + std::to_string(::getpid()) + "-XXXXXX";
  if (!::mkdtemp(tmpl.data())) return errno;
  *path = tmpl;
  return 0;
}

void remove_orphaned_sandbox_dirs(const std::string& parent, std::string_view prefix) {
  DIR* dir = ::opendir(parent.c_str());
  if (dir == nullptr) return;
  std::vector<std::string> orphans;
  while (dirent* e = ::readdir(dir)) {
    const pid_t pid = owner_of(e->d_name, prefix);
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive (or not ours to judge)
    orphans.push_back(parent + "/" + e->d_name);
  }
  ::closedir(dir);
  for (const std::string& path : orphans) (void)remove_sandbox_dir(path);
}

bool looks_like_sandbox_dir(std::string_view path, std::string_view parent) {
  if (!path.starts_with(parent) || path.size() != parent.size() + 1 + kSandboxPrefix.size() + 6)
    return false;
  std::string_view rest = path.substr(parent.size());
  if (rest[0] != '/' || !rest.substr(1).starts_with(kSandboxPrefix)) return false;
  for (char c : rest.substr(1 + kSandboxPrefix.size())) {
    if (!(std::isalnum(static_cast<unsigned char>(c)))) return false;
  }
  return true;
}

int remove_sandbox_dir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : errno;
  int err = remove_contents(fd, 2);
  ::close(fd);
  if (::rmdir(path.c_str()) != 0 && !err) err = errno;
  return err;
}

int create_backing_file(const std::string& path, uint64_t size, uint8_t fill,
                        const PartitionTable& mbr) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return errno;
  int err = 0;
  if (fill == 0) {
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) err = errno;
  } else {
    std::vector<uint8_t> chunk(1 << 20, fill);
    for (uint64_t done = 0; done < size && !err;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), size - done));
      ssize_t w = ::pwrite(fd, chunk.data(), n, static_cast<off_t>(done));
      if (w <= 0)
        err = w < 0 ? errno : EIO;
      else
        done += static_cast<uint64_t>(w);
    }
  }
  if (!err) err = write_partition_table(fd, mbr);
  if (::close(fd) != 0 && !err) err = errno;
  return err;
}

}  // namespace loopcheck::host
