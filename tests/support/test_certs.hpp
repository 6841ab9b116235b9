#pragma once

// Certificates made at test time with OpenSSL: a throwaway certificate authority and the server
// certificates it signs, written as PEM files into a test's directory.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace portcullis::test {

/// A certificate and its private key, as PEM files.
struct CertFiles {
    std::filesystem::path cert_file;
    std::filesystem::path key_file;
};

/// A self-signed certificate authority (ECDSA P-256, valid for a day).
class TestCa {
  public:
    /// `name` is the CA's common name.
    explicit TestCa(const std::string& name);
    ~TestCa();
    TestCa(const TestCa&) = delete;
    TestCa& operator=(const TestCa&) = delete;

    /// Writes the CA certificate as `<dir>/<stem>.pem` and returns the path.
    std::filesystem::path write_ca(const std::filesystem::path& dir, const std::string& stem) const;

    /// A server certificate for `names` (DNS names; IP literals become IP addresses), its common
    /// name the first of them, signed by this CA, written as `<dir>/<stem>.crt` and `.key`.
    CertFiles issue(const std::filesystem::path& dir,
                    const std::string& stem,
                    const std::vector<std::string>& names) const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace portcullis::test
