#include "repro/c_reproducer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cctype>

#include "trace/names.h"
#include "trace/print.h"

namespace loopcheck::vm {
namespace {

// The fixed part of every reproducer: helpers for checking and printing.
constexpr const char* kPrelude = R"C(#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/falloc.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Not every trace needs every helper. */
#define HELPER static __attribute__((unused))

static int64_t v[%NVARS%];          /* trace variables: an fd or index, -1 after a failure */
static char dir[] = "/var/tmp/loopcheck-repro-XXXXXX";
static unsigned char *buf;           /* page-aligned, so O_DIRECT fds work */
static char text[8192];
static int mismatches;

/* `fault`: a pointer the kernel cannot copy through (a PROT_NONE page). */
HELPER void *unmapped_page(void) {
  static void *page;
  if (!page) page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return page;
}

/* `allocated file NAME`: the bytes of every extent FIEMAP reports, after a sync. */
HELPER long allocated_bytes(const char *path) {
  static unsigned char raw[sizeof(struct fiemap) + 512 * sizeof(struct fiemap_extent)];
  struct fiemap *map = (struct fiemap *)raw;
  long total = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  memset(raw, 0, sizeof raw);
  map->fm_length = FIEMAP_MAX_OFFSET;
  map->fm_flags = FIEMAP_FLAG_SYNC;
  map->fm_extent_count = 512;
  if (ioctl(fd, FS_IOC_FIEMAP, map) != 0) total = -1;
  for (unsigned i = 0; total >= 0 && i < map->fm_mapped_extents; i++)
    total += (long)map->fm_extents[i].fe_length;
  close(fd);
  return total;
}

HELPER const char *obj(const char *name) {
  static char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return path;
}

/* trace/pattern.h: byte i of `pwrite ... pattern=S`. */
HELPER uint64_t splitmix64(uint64_t x) {
  uint64_t z = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
HELPER unsigned char pattern_byte(uint32_t seed, uint64_t i) {
  uint64_t word = splitmix64((uint64_t)seed * 0x9E3779B97F4A7C15ull + i / 8);
  return (unsigned char)(word >> (8 * (i % 8)));
}

HELPER const char *err_name(int e) {
  const char *name = strerrorname_np(e);
  return name ? name : "errno";
}

HELPER void print_result(long rc, int e) {
  if (rc < 0) printf("%s (%d)", err_name(e), e); else printf("%ld", rc);
}

/* One data run of an expectation: kind 0 zero, 1 fill, 2 pattern, 3 digest (not checkable here). */
struct run { int kind; unsigned fill; uint32_t seed; uint64_t index, length; };
HELPER int data_matches(const unsigned char *p, uint64_t n, const struct run *runs, int count,
                        int *unchecked) {
  uint64_t at = 0;
  for (int r = 0; r < count; r++) {
    uint64_t len = runs[r].length ? runs[r].length : n - at;
    if (at + len > n) return 0;
    for (uint64_t k = 0; k < len; k++) {
      unsigned char want;
      if (runs[r].kind == 3) { *unchecked = 1; break; }
      want = runs[r].kind == 0   ? 0
             : runs[r].kind == 1 ? (unsigned char)runs[r].fill
                                 : pattern_byte(runs[r].seed, runs[r].index + k);
      if (p[at + k] != want) return 0;
    }
    at += len;
  }
  return at == n;
}

HELPER int read_sysfs(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n;
  if (fd < 0) return -1;
  n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n < 0) return -1;
  text[n] = 0;
  if (n > 0 && text[n - 1] == '\n') text[n - 1] = 0;
  /* backing_file in the trace's terms: the object's name, not our directory */
  if (strncmp(text, dir, strlen(dir)) == 0 && text[strlen(dir)] == '/')
    memmove(text, text + strlen(dir) + 1, strlen(text + strlen(dir) + 1) + 1);
  return 0;
}

/* `uevents`: the kernel's loop block events since the last read, as "ACTION
 * loopN[pK] [resize|media]" in `text`, and in `shape` with each device number
 * written N (this machine numbers its devices otherwise than the trace). */
static int uevent_fd = -1;
static char shape[4096];
HELPER void listen_uevents(void) {
  struct sockaddr_nl a = {AF_NETLINK, 0, 0, 1};
  int bytes = 4 << 20;
  uevent_fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
  if (uevent_fd < 0) { perror("socket(NETLINK_KOBJECT_UEVENT)"); exit(2); }
  setsockopt(uevent_fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes);
  if (bind(uevent_fd, (struct sockaddr *)&a, sizeof a) != 0) { perror("bind uevent"); exit(2); }
}
HELPER void append_uevent(const char *action, const char *name, const char *extra) {
  size_t n = strlen(text), m = strlen(shape);
  const char *digits_end = name + 4 + strspn(name + 4, "0123456789");
  snprintf(text + n, sizeof text - n, "%s%s %s%s", n ? ", " : "", action, name, extra);
  snprintf(shape + m, sizeof shape - m, "%s%s loopN%s%s", m ? ", " : "", action, digits_end,
           extra);
}
HELPER long read_uevents(void) {
  char msg[8192];
  text[0] = 0;
  shape[0] = 0;
  for (;;) {
    ssize_t n = recv(uevent_fd, msg, sizeof msg - 1, MSG_DONTWAIT);
    const char *action = "", *sub = "", *name = "", *extra = "";
    int synthetic = 0;
    if (n < 0 && errno == ENOBUFS) { errno = ENOBUFS; return -1; }
    if (n <= 0) return 0;
    msg[n] = 0;
    for (char *k = msg + strlen(msg) + 1; k < msg + n; k += strlen(k) + 1) {
      if (strncmp(k, "ACTION=", 7) == 0) action = k + 7;
      if (strncmp(k, "SUBSYSTEM=", 10) == 0) sub = k + 10;
      if (strncmp(k, "DEVNAME=", 8) == 0) name = k + 8;
      if (strcmp(k, "RESIZE=1") == 0) extra = " resize";
      if (strcmp(k, "DISK_MEDIA_CHANGE=1") == 0) extra = " media";
      if (strncmp(k, "SYNTH_UUID=", 11) == 0) synthetic = 1;
    }
    if (strcmp(sub, "block") != 0 || strncmp(name, "loop", 4) != 0 || synthetic) continue;
    if (strcmp(action, "add") && strcmp(action, "remove") && strcmp(action, "change")) continue;
    append_uevent(action, name, extra);
  }
}

/* @env cap_sys_admin=0: the steps run with CAP_SYS_ADMIN out of the effective set. */
HELPER void drop_cap_sys_admin(void) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d) != 0) { perror("capget"); exit(2); }
  d[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
  if (syscall(SYS_capset, &h, d) != 0) { perror("capset"); exit(2); }
}

HELPER void verdict(int ok, int has_expectation, const char *expected) {
  if (!has_expectation) { printf("\n"); return; }
  if (ok) { printf("   ok\n"); return; }
  printf("   MISMATCH: the trace expects %s\n", expected);
  mismatches++;
}

HELPER void make_file(const char *name, long long size, int fill) {
  int fd = open(obj(name), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0 || ftruncate(fd, size) != 0) { perror(name); exit(2); }
  if (fill) {
    unsigned char block[65536];
    memset(block, fill, sizeof block);
    for (long long done = 0; done < size;) {
      long long left = size - done;
      size_t chunk = (size_t)(left < (long long)sizeof block ? left : (long long)sizeof block);
      ssize_t w = pwrite(fd, block, chunk, done);
      if (w <= 0) { perror(name); exit(2); }
      done += w;
    }
  }
  close(fd);
}

int main(void) {
  long rc;
  int e, ok, unchecked;
  (void)ok; (void)unchecked; (void)e; (void)rc;
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) v[i] = -1;
  if (!mkdtemp(dir)) { perror("mkdtemp /var/tmp"); return 2; }
  if (posix_memalign((void **)&buf, 4096, %BUFSIZE%) != 0) { perror("posix_memalign"); return 2; }
)C";

std::string c_string(std::string_view bytes) {
  std::string out = "\"";
  for (unsigned char c : bytes) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f && c != '?') {  // '?' avoids trigraphs
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\{:03o}", c);
    }
  }
  return out + "\"";
}

std::string value_expr(const Value& v) {
  if (!v.is_literal()) return fmt::format("v[{}]", v.var);
  return fmt::format("(int64_t){:#x}ull", v.lit);
}

std::string errno_expr(int err) {
  std::string_view name = errno_name(err);
  return name.empty() ? std::to_string(err) : std::string(name);
}

std::string request_expr(const Op& op) {
  return op.req == Req::Unknown ? fmt::format("{:#x}ul", op.raw_req)
                                : std::string(req_name(op.req));
}

struct StructNames {
  const char* type;
  const char* name_field;
};

StructNames struct_names(StructKind kind) {
  switch (kind) {
    case StructKind::LoopInfo:
      return {"struct loop_info", "lo_name"};
    case StructKind::LoopConfig:
      return {"struct loop_config", "info.lo_file_name"};
    default:
      return {"struct loop_info64", "lo_file_name"};
  }
}

std::string field_member(Field f, StructKind kind) {
  std::string prefix =
      kind == StructKind::LoopConfig && f != Field::Fd && f != Field::BlockSize ? "info." : "";
  switch (f) {
    case Field::Fd:
      return "fd";
    case Field::BlockSize:
      return "block_size";
    case Field::Offset:
      return prefix + "lo_offset";
    case Field::Sizelimit:
      return prefix + "lo_sizelimit";
    case Field::Number:
      return prefix + "lo_number";
    case Field::EncryptType:
      return prefix + "lo_encrypt_type";
    case Field::EncryptKeySize:
      return prefix + "lo_encrypt_key_size";
    case Field::Flags:
      return prefix + "lo_flags";
    case Field::Device:
      return prefix + "lo_device";
    case Field::Inode:
      return prefix + "lo_inode";
    case Field::Rdevice:
      return prefix + "lo_rdevice";
    case Field::Name:
      return prefix + (kind == StructKind::LoopInfo ? "lo_name" : "lo_file_name");
  }
  return "?";
}

// The events as the reproducer compares them: each device number written N (the
// machine numbers its devices otherwise than the trace; the partition numbers
// and the order are the kernel's).
std::string uevents_shape(const UeventList& list) {
  std::string out;
  for (uint8_t i = 0; i < list.count; ++i) {
    Uevent e = list.event[i];
    const std::string one = format_uevent(e);
    const size_t at = one.find(" loop") + 5;
    const size_t digits = one.find_first_not_of("0123456789", at);
    out += (i ? ", " : "") + one.substr(0, at) + "N" +
           (digits == std::string::npos ? std::string() : one.substr(digits));
  }
  return out;
}

// The C condition under which the step's outcome satisfies one alternative.
std::string alt_condition(const ExpectAlt& alt, const Op& op, int step, std::string* decls) {
  switch (alt.kind) {
    case ExpectAlt::Kind::Value:
      if (alt.ranged) return fmt::format("(rc >= {}L && rc <= {}L)", alt.range_min, alt.value);
      return fmt::format("(rc >= 0 && rc == {}L)", alt.value);
    case ExpectAlt::Kind::Errno:
      return fmt::format("(rc < 0 && e == {})", errno_expr(alt.err));
    case ExpectAlt::Kind::Text:
      return fmt::format("(rc >= 0 && strcmp(text, {}) == 0)", c_string(alt.text));
    case ExpectAlt::Kind::Uevents:
      return fmt::format("(rc >= 0 && strcmp(shape, {}) == 0)",
                         c_string(uevents_shape(alt.uevents)));
    case ExpectAlt::Kind::Status: {
      StructKind kind = req_struct(op.req);
      std::string cond = "(rc >= 0";
      for (int i = 0; i < kFieldCount; ++i) {
        Field f = static_cast<Field>(i);
        if (!alt.fields.has(f) || !struct_has_field(kind, f)) continue;
        if (f == Field::Name) {
          // `st` is always the widened loop_info64 (the legacy struct is copied into it).
          cond += fmt::format(" && strncmp((const char *)st.{}, {}, {}) == 0",
                              field_member(f, StructKind::LoopInfo64),
                              c_string(alt.fields.name.view()), kNameSize);
        } else {
          cond += fmt::format(" && (uint64_t)st.{} == {:#x}ull",
                              field_member(f, StructKind::LoopInfo64), alt.fields.get(f));
        }
      }
      return cond + ")";
    }
    case ExpectAlt::Kind::Data: {
      std::string cond = fmt::format("(rc >= 0 && rc == {}L", alt.value);
      if (alt.has_data) {
        std::string runs;
        for (uint8_t s = 0; s < alt.data.count; ++s) {
          const DataSegment& seg = alt.data.seg[s];
          runs +=
              fmt::format("{}{{{}, {}, {}u, {}ull, {}ull}}", s ? ", " : "",
                          static_cast<int>(seg.kind), seg.fill, seg.seed, seg.index, seg.length);
        }
        std::string name = fmt::format("runs_{}_{}", step, decls->size());
        *decls += fmt::format("  static const struct run {}[] = {{{}}};\n", name, runs);
        cond += fmt::format(" && data_matches(buf, (uint64_t)rc, {}, {}, &unchecked)", name,
                            alt.data.count);
      }
      return cond + ")";
    }
  }
  return "0";
}

std::string open_flags(const Op& op) {
  std::string flags = op.access == Access::Ro   ? "O_RDONLY"
                      : op.access == Access::Wo ? "O_WRONLY"
                                                : "O_RDWR";
  if (op.open_flags & kOpenExcl) flags += " | O_EXCL";
  if (op.open_flags & kOpenDirect) flags += " | O_DIRECT";
  if (op.open_flags & kOpenSync) flags += " | O_SYNC";
  if (op.open_flags & kOpenDsync) flags += " | O_DSYNC";
  if (op.open_flags & kOpenNonblock) flags += " | O_NONBLOCK";
  return flags + " | O_CLOEXEC";
}

// Sets rc and e from one C expression.
std::string call_code(const std::string& expr) {
  return fmt::format("  errno = 0; rc = {}; e = rc < 0 ? errno : 0;\n", expr);
}

constexpr const char* kPrintResult = "  print_result(rc, e);\n";

std::string open_code(const Trace& trace, const Op& op) {
  std::string c;
  if (op.node == Node::LoopControl) {
    c += call_code(fmt::format("open(\"/dev/loop-control\", {})", open_flags(op)));
  } else if (op.node == Node::Loop) {
    c += fmt::format("  snprintf(text, sizeof text, \"/dev/loop%lld\", (long long){});\n",
                     value_expr(op.subject));
    c += call_code(fmt::format("open(text, {})", open_flags(op)));
  } else {
    c += call_code(
        fmt::format("open(obj({}), {})", c_string(trace.objects[op.object].name), open_flags(op)));
  }
  return c + kPrintResult;
}

std::string pwrite_code(const Op& op, const std::string& fd) {
  std::string c;
  // An empty write has no bytes to fill (and `i < 0u` would not compile under -Werror).
  if (op.length > 0)
    c += fmt::format("  for (uint64_t i = 0; i < {}u; i++) buf[i] = pattern_byte({}u, i);\n",
                     op.length, op.seed);
  c += call_code(
      fmt::format("pwrite({}, buf, {}u, (off_t){})", fd, op.length, value_expr(op.offset)));
  return c + kPrintResult;
}

// fallocate(2) with the FALLOC_FL_* names of the statement's modes.
std::string fallocate_code(const Op& op, const std::string& fd) {
  std::string mode;
  for (FallocFlag f : kFallocFlags) {
    if (!(op.falloc_mode & f)) continue;
    std::string name(falloc_flag_name(f));
    std::transform(name.begin(), name.end(), name.begin(), [](char c) {
      return static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    });
    mode += (mode.empty() ? "FALLOC_FL_" : " | FALLOC_FL_") + name;
  }
  return call_code(fmt::format("fallocate({}, {}, (off_t){}, (off_t){}u)", fd,
                               mode.empty() ? "0" : mode, value_expr(op.offset), op.length)) +
         kPrintResult;
}

std::string sysfs_code(const Op& op) {
  std::string c =
      fmt::format("  snprintf(text + 4096, 4096, \"/sys/block/loop%lld/{}\", (long long){});\n",
                  sysattr_path(op.attr), value_expr(op.subject));
  c += "  { char path[4096]; memcpy(path, text + 4096, sizeof path); errno = 0; rc = "
       "read_sysfs(path); e = rc < 0 ? errno : 0; }\n";
  c += "  if (rc >= 0) printf(\"\\\"%s\\\"\", text); else print_result(rc, e);\n";
  return c;
}

// A request the trace names by number: its argument is a number, or zeros as
// large as the largest loop struct.
std::string unknown_ioctl_code(const Op& op, const std::string& fd, const std::string& req,
                               const std::string& number) {
  if (op.arg_kind != ArgKind::Struct)
    return call_code(fmt::format("ioctl({}, {}, {})", fd, req, number));
  return "  { static unsigned char zeros[sizeof(struct loop_config)];\n" +
         call_code(fmt::format("ioctl({}, {}, zeros)", fd, req)) + "  }\n";
}

std::string out_ioctl_code(const Op& op, const std::string& fd, const std::string& req,
                           const std::string& bad) {
  const char* type = op.req == Req::BlkGetSize64 ? "uint64_t"
                     : op.req == Req::BlkGetSize ? "unsigned long"
                     : op.req == Req::BlkPbszGet ? "unsigned int"
                                                 : "int";
  std::string c = fmt::format("  {{ {} out = 0;\n", type);
  c += call_code(fmt::format("ioctl({}, {}, {})", fd, req, bad.empty() ? "&out" : bad));
  return c + "    if (rc >= 0) rc = (long)out;\n  }\n";
}

std::string struct_in_ioctl_code(const Op& op, const std::string& fd, const std::string& req,
                                 const std::string& bad) {
  StructKind kind = req_struct(op.req);
  StructNames names = struct_names(kind);
  std::string c = fmt::format("  {{ {} arg;\n    memset(&arg, 0, sizeof arg);\n", names.type);
  for (int i = 0; i < kFieldCount; ++i) {
    Field f = static_cast<Field>(i);
    if (!op.fields.has(f) || !struct_has_field(kind, f)) continue;
    if (f == Field::Name) {
      c += fmt::format("    memcpy(arg.{}, {}, {});\n", names.name_field,
                       c_string(op.fields.name.view()), op.fields.name.len);
    } else {
      c += fmt::format("    arg.{} = {};\n", field_member(f, kind),
                       value_expr(op.fields.value[static_cast<size_t>(i)]));
    }
  }
  c += call_code(fmt::format("ioctl({}, {}, {})", fd, req, bad.empty() ? "&arg" : bad));
  return c + "  }\n";
}

// Reads the status into `st`, the widened loop_info64 (a legacy struct is copied
// into it), and prints it.
std::string struct_out_ioctl_code(const Op& op, const std::string& fd, const std::string& req,
                                  const std::string& bad) {
  std::string c = fmt::format("  memset(&st, 0, sizeof st);\n");
  if (req_struct(op.req) == StructKind::LoopInfo) {
    c += "  memset(&st_old, 0, sizeof st_old);\n";
    c += call_code(fmt::format("ioctl({}, {}, {})", fd, req, bad.empty() ? "&st_old" : bad));
    c += "  st.lo_offset = (uint64_t)(int64_t)st_old.lo_offset; st.lo_number = "
         "(uint32_t)st_old.lo_number;\n"
         "  st.lo_encrypt_type = (uint32_t)st_old.lo_encrypt_type; st.lo_encrypt_key_size "
         "= (uint32_t)st_old.lo_encrypt_key_size;\n"
         "  st.lo_flags = (uint32_t)st_old.lo_flags; st.lo_device = st_old.lo_device; "
         "st.lo_inode = st_old.lo_inode;\n"
         "  st.lo_rdevice = st_old.lo_rdevice; memcpy(st.lo_file_name, st_old.lo_name, "
         "sizeof st_old.lo_name);\n";
  } else {
    c += call_code(fmt::format("ioctl({}, {}, {})", fd, req, bad.empty() ? "&st" : bad));
  }
  c += "  if (rc >= 0) printf(\"{offset=%llu sizelimit=%llu number=%u flags=0x%x "
       "name=\\\"%.64s\\\"}\", "
       "(unsigned long long)st.lo_offset, (unsigned long long)st.lo_sizelimit, "
       "st.lo_number, st.lo_flags, "
       "(const char *)st.lo_file_name); else print_result(rc, e);\n";
  return c;
}

std::string ioctl_code(const Op& op, const std::string& fd) {
  const std::string req = request_expr(op);
  // The expression of a pointer the kernel cannot copy through; empty for a good one.
  const std::string bad = op.arg_kind == ArgKind::Null    ? "NULL"
                          : op.arg_kind == ArgKind::Fault ? "unmapped_page()"
                                                          : "";
  const std::string number =
      op.arg_kind == ArgKind::Number ? fmt::format("(unsigned long){}", value_expr(op.arg)) : "0ul";
  if (op.req == Req::Unknown) return unknown_ioctl_code(op, fd, req, number) + kPrintResult;
  std::string c;
  switch (req_arg(op.req)) {
    case ReqArg::Ignored:
    case ReqArg::Number:
      c += call_code(fmt::format("ioctl({}, {}, {})", fd, req, number));
      break;
    case ReqArg::Int:
      c += fmt::format("  {{ int arg = (int){};\n", value_expr(op.arg));
      c += call_code(fmt::format("ioctl({}, {}, {})", fd, req, bad.empty() ? "&arg" : bad));
      c += "  }\n";
      break;
    case ReqArg::Range:
      if (!bad.empty()) {
        c += call_code(fmt::format("ioctl({}, {}, {})", fd, req, bad));
        break;
      }
      c += fmt::format("  {{ uint64_t range[2] = {{{}ull, {}ull}};\n", op.offset.lit, op.arg.lit);
      c += call_code(fmt::format("ioctl({}, {}, range)", fd, req));
      c += "  }\n";
      break;
    case ReqArg::Out:
      c += out_ioctl_code(op, fd, req, bad);
      break;
    case ReqArg::StructIn:
      c += struct_in_ioctl_code(op, fd, req, bad);
      break;
    case ReqArg::StructOut:
      return struct_out_ioctl_code(op, fd, req, bad);
  }
  return c + kPrintResult;
}

// The statement's syscall: sets rc (and e), prints what happened.
std::string step_code(const Trace& trace, const Op& op) {
  const std::string fd = fmt::format("(int){}", value_expr(op.subject));
  switch (op.kind) {
    case OpKind::Open:
      return open_code(trace, op);
    case OpKind::Close:
      return call_code(fmt::format("close({})", fd)) + kPrintResult;
    case OpKind::Fsync:
      return call_code(fmt::format("fsync({})", fd)) + kPrintResult;
    case OpKind::Truncate:
      return call_code(fmt::format("truncate(obj({}), (off_t){})",
                                   c_string(trace.objects[op.object].name),
                                   value_expr(op.offset))) +
             kPrintResult;
    case OpKind::Pread:
      // The buffer is poisoned as the targets poison theirs (IoBuffer::poison).
      return fmt::format("  memset(buf, 0x5a, {}u);\n", op.length) +
             call_code(fmt::format("pread({}, buf, {}u, (off_t){})", fd, op.length,
                                   value_expr(op.offset))) +
             "  if (rc >= 0) printf(\"%ld bytes\", rc); else print_result(rc, e);\n";
    case OpKind::Pwrite:
      return pwrite_code(op, fd);
    case OpKind::Sysfs:
      return sysfs_code(op);
    case OpKind::Fallocate:
      return fallocate_code(op, fd);
    case OpKind::Allocated:
      return call_code(
                 fmt::format("allocated_bytes(obj({}))", c_string(trace.objects[op.object].name))) +
             kPrintResult;
    case OpKind::Ioctl:
      return ioctl_code(op, fd);
    case OpKind::Uevents:
      return call_code("read_uevents()") +
             "  if (rc >= 0) printf(\"\\\"%s\\\" (device numbers not compared)\", text); "
             "else print_result(rc, e);\n";
  }
  return kPrintResult;
}

// One statement: a comment naming it, its syscall, the variable it binds and the
// check of its outcome against the trace's expectations.
std::string statement_code(const Trace& trace, const Statement& stmt, size_t step) {
  std::string text = print_statement(trace, stmt);
  std::string c = fmt::format("  /* step {}, line {}: {} */\n", step, stmt.pos.line, text);
  c += fmt::format("  printf(\"step %d line %d: %s => \", {}, {}, {});\n", step, stmt.pos.line,
                   c_string(text.substr(0, text.find(" => "))));
  c += step_code(trace, stmt.op);
  if (stmt.bind >= 0) c += fmt::format("  v[{}] = rc >= 0 ? (int64_t)rc : -1;\n", stmt.bind);
  std::string decls, cond;
  for (uint8_t a = 0; a < stmt.expect.count; ++a) {
    cond += (a ? " || " : "") +
            alt_condition(stmt.expect.alt[a], stmt.op, static_cast<int>(step), &decls);
  }
  std::string expected;
  for (uint8_t a = 0; a < stmt.expect.count; ++a)
    expected += (a ? " | " : "") + format_expect_alt(stmt.expect.alt[a]);
  c += decls;
  if (stmt.expect.count > 0) {
    c += fmt::format("  unchecked = 0;\n  ok = {};\n", cond);
    c += "  if (ok && unchecked) printf(\" (data given only by digest: not checked)\");\n";
    c += fmt::format("  verdict(ok, 1, {});\n\n", c_string(expected));
  } else {
    c += "  verdict(1, 0, \"\");\n\n";
  }
  return c;
}

}  // namespace

std::string write_c_reproducer(const Trace& trace) {
  uint64_t buffer = 4096;
  for (const Statement& s : trace.stmts) {
    if (s.op.kind == OpKind::Pread || s.op.kind == OpKind::Pwrite)
      buffer = std::max(buffer, s.op.length);
  }
  buffer = (buffer + 4095) / 4096 * 4096;
  std::string prelude = kPrelude;
  auto replace = [&](std::string_view key, const std::string& value) {
    size_t at = prelude.find(key);
    assert(at != std::string::npos);
    prelude.replace(at, key.size(), value);
  };
  replace("%NVARS%", std::to_string(std::max<size_t>(trace.vars.size(), 1)));
  replace("%BUFSIZE%", std::to_string(buffer));

  std::string c = fmt::format(
      "/* Reproducer written by loopcheck from {}.\n"
      " * Performs the trace on the running kernel (as root; it binds, detaches and\n"
      " * removes loop devices exactly as the trace says: use a test machine or a VM),\n"
      " * prints each step's outcome, and exits 1 where the kernel disagrees with the\n"
      " * trace's expectations, 0 where it agrees, 2 when it cannot set up.\n"
      " * Build: gcc -Wall -o repro repro.c */\n",
      trace.source);
  c += prelude;
  c += "  struct loop_info64 st; struct loop_info st_old;\n  (void)st; (void)st_old;\n";
  for (const ObjectDecl& o : trace.objects) {
    if (o.kind == ObjectDecl::Kind::Dir) {
      c += fmt::format("  if (mkdir(obj({}), 0755) != 0) {{ perror(\"mkdir\"); return 2; }}\n",
                       c_string(o.name));
    } else {
      c += fmt::format("  make_file({}, {}LL, {});\n", c_string(o.name), o.size, o.fill);
    }
  }
  if (std::any_of(trace.stmts.begin(), trace.stmts.end(),
                  [](const Statement& s) { return s.op.kind == OpKind::Uevents; }))
    c += "  listen_uevents();\n";
  if (!trace.env.cap_sys_admin) c += "  drop_cap_sys_admin();\n";
  c += "\n";
  for (size_t i = 0; i < trace.stmts.size(); ++i) c += statement_code(trace, trace.stmts[i], i + 1);
  // The program's own files go; loop devices are left as the trace left them.
  for (auto it = trace.objects.rbegin(); it != trace.objects.rend(); ++it) {
    c += fmt::format("  {}(obj({}));\n", it->kind == ObjectDecl::Kind::Dir ? "rmdir" : "unlink",
                     c_string(it->name));
  }
  c += "  rmdir(dir);\n  free(buf);\n";
  c += "  printf(\"%d mismatch(es) with the trace's expectations\\n\", mismatches);\n";
  c += "  return mismatches ? 1 : 0;\n}\n";
  return c;
}

}  // namespace loopcheck::vm
