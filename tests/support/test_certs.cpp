#include "tests/support/test_certs.hpp"

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <atomic>
#include <cstdio>

namespace portcullis::test {

namespace {

struct KeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertFree {
    void operator()(X509* cert) const { X509_free(cert); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using CertPtr = std::unique_ptr<X509, CertFree>;

KeyPtr new_key() {
    KeyPtr key{EVP_EC_gen("P-256")};
    REQUIRE(key != nullptr);
    return key;
}

bool is_ip_literal(const std::string& name) {
    unsigned char buf[16];
    return inet_pton(AF_INET, name.c_str(), buf) == 1 ||
           inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    REQUIRE(ext != nullptr);
    REQUIRE(X509_add_ext(cert, ext, -1) == 1);
    X509_EXTENSION_free(ext);
}

/// A certificate for `key` named `common_name`, valid from an hour ago for a day.
CertPtr new_cert(EVP_PKEY* key, const std::string& common_name) {
    static std::atomic<long> serial{1};
    CertPtr cert{X509_new()};
    REQUIRE(cert != nullptr);
    X509_set_version(cert.get(), 2); // v3
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
    REQUIRE(X509_set_pubkey(cert.get(), key) == 1);
    X509_NAME* subject = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                               0);
    return cert;
}

template <class Write> void write_pem(const std::filesystem::path& path, Write write) {
    FILE* file = std::fopen(path.c_str(), "w");
    REQUIRE(file != nullptr);
    const int ok = write(file);
    std::fclose(file);
    REQUIRE(ok == 1);
}

} // namespace

struct TestCa::Impl {
    KeyPtr key;
    CertPtr cert;
};

TestCa::TestCa(const std::string& name) : impl_(std::make_unique<Impl>()) {
    impl_->key = new_key();
    impl_->cert = new_cert(impl_->key.get(), name);
    X509* cert = impl_->cert.get();
    REQUIRE(X509_set_issuer_name(cert, X509_get_subject_name(cert)) == 1);
    add_extension(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(cert, cert, NID_subject_key_identifier, "hash");
    REQUIRE(X509_sign(cert, impl_->key.get(), EVP_sha256()) > 0);
}

TestCa::~TestCa() = default;

std::filesystem::path TestCa::write_ca(const std::filesystem::path& dir,
                                       const std::string& stem) const {
    const auto path = dir / (stem + ".pem");
    write_pem(path, [&](FILE* f) { return PEM_write_X509(f, impl_->cert.get()); });
    return path;
}

CertFiles TestCa::issue(const std::filesystem::path& dir,
                        const std::string& stem,
                        const std::vector<std::string>& names) const {
    REQUIRE_FALSE(names.empty());
    KeyPtr key = new_key();
    CertPtr cert = new_cert(key.get(), names.front());
    REQUIRE(X509_set_issuer_name(cert.get(), X509_get_subject_name(impl_->cert.get())) == 1);
    std::string alt_names;
    for (const auto& name : names) {
        alt_names += (alt_names.empty() ? "" : ",") +
                     std::string(is_ip_literal(name) ? "IP:" : "DNS:") + name;
    }
    add_extension(cert.get(), impl_->cert.get(), NID_subject_alt_name, alt_names);
    add_extension(cert.get(), impl_->cert.get(), NID_ext_key_usage, "serverAuth");
    add_extension(cert.get(), impl_->cert.get(), NID_basic_constraints, "CA:FALSE");
    REQUIRE(X509_sign(cert.get(), impl_->key.get(), EVP_sha256()) > 0);

    CertFiles files{dir / (stem + ".crt"), dir / (stem + ".key")};
    write_pem(files.cert_file, [&](FILE* f) { return PEM_write_X509(f, cert.get()); });
    write_pem(files.key_file, [&](FILE* f) {
        return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    });
    return files;
}

} // namespace portcullis::test
