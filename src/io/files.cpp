#include "pconv/io/files.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <random>
#include <sstream>

#include "pconv/io/error.h"

namespace pconv {
namespace fs = std::filesystem;

std::vector<uint8_t> read_file(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw Error(path.string() + ": is a folder, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open (" + std::strerror(errno) + ")");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path.string() + ": read failed");
  return bytes;
}

void write_file_atomic(const fs::path& path, const void* bytes, size_t size) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::random_device rd;
  const fs::path tmp = dir / ("." + path.filename().string() + ".tmp" + std::to_string(rd() % 1000000));
  const std::string where = path.string();

  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(where + ": cannot write (" + std::strerror(errno) + ")");
  const auto* p = static_cast<const char*>(bytes);
  size_t left = size;
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error(where + ": write failed (" + why + ")");
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw Error(where + ": write failed (" + why + ")");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw Error(where + ": cannot write (" + why + ")");
  }
}

std::string lower_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

std::string sha256_hex(const void* bytes, size_t size) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!EVP_Digest(bytes, size, digest, &length, EVP_sha256(), nullptr)) throw Error("SHA-256: OpenSSL failed");
  std::ostringstream hex;
  for (unsigned int i = 0; i < length; ++i) hex << std::hex << std::setw(2) << std::setfill('0') << int(digest[i]);
  return hex.str();
}

void check_sha256_sidecar(const fs::path& path) {
  const fs::path sidecar = path.string() + ".sha256";
  std::error_code ec;
  if (!fs::exists(sidecar, ec)) return;
  std::ifstream in(sidecar);
  std::string expected;
  in >> expected;
  std::transform(expected.begin(), expected.end(), expected.begin(), ::tolower);
  if (expected.size() != 64 || expected.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw Error(sidecar.string() + ": not a SHA-256 digest (expected 64 hex digits first)");
  const std::string actual = sha256_hex(read_file(path));
  if (actual != expected)
    throw Error(path.string() + ": SHA-256 is " + actual + " but " + sidecar.filename().string() + " says " + expected +
                " (the file is damaged or was replaced; a Git LFS pointer?)");
}

}  // namespace pconv
