# Every dependency is a Debian 12 package; scripts/install-deps.sh installs them.
find_package(PkgConfig REQUIRED)
find_package(OpenSSL 3.0 REQUIRED)
find_package(tl-expected REQUIRED)
find_package(fmt REQUIRED)
find_package(Boost 1.81 EXACT REQUIRED)
find_package(ICU REQUIRED COMPONENTS uc i18n)
find_package(Threads REQUIRED)
pkg_check_modules(SECP256K1 REQUIRED IMPORTED_TARGET libsecp256k1)
pkg_check_modules(CRYPTOPP REQUIRED libcrypto++)
# Ledger devices over USB HID: hidapi's hidraw backend (/dev/hidraw*, the nodes udev/ grants).
pkg_check_modules(HIDAPI REQUIRED IMPORTED_TARGET hidapi-hidraw)
# sd-bus: desktop notifications over the session D-Bus (daemon/desktop_notifier.cpp).
pkg_check_modules(LIBSYSTEMD REQUIRED IMPORTED_TARGET libsystemd)

# Crypto++ is linked statically (libcrypto++.a from Debian's libcrypto++-dev) into every target
# that uses it: only Keccak and scrypt are used, and the shared library's static initialisers
# alone fault in ~2 MB of its pages in every process (docs/BENCHMARKS.md, idle RSS). The linker
# takes just the objects we need from the archive.
# Trade-off: a Debian security update of libcrypto++ no longer reaches keybridge by itself; the
# binaries must be rebuilt (and re-released) against the updated libcrypto++-dev.
find_library(KEYBRIDGE_CRYPTOPP_ARCHIVE NAMES libcrypto++.a libcryptopp.a
             HINTS ${CRYPTOPP_LIBRARY_DIRS} REQUIRED NO_CACHE)
add_library(keybridge::cryptopp STATIC IMPORTED)
set_target_properties(keybridge::cryptopp PROPERTIES
  IMPORTED_LOCATION ${KEYBRIDGE_CRYPTOPP_ARCHIVE}
  INTERFACE_INCLUDE_DIRECTORIES "${CRYPTOPP_INCLUDE_DIRS}"
  INTERFACE_LINK_LIBRARIES Threads::Threads)

# In the archive, cryptlib.o reaches dll.o through one template vtable, and dll.o drags in the
# public-key half of Crypto++ (ECP, EC2N, OAEP, AES, ...): ~1.5 MB of code and ~150 kB of
# vtables relocated at every start, none of it ever called. --gc-sections drops the sections
# nothing reaches: keybridged's text 4.7 -> 4.0 MB, idle RSS -0.5 MB. Not in libFuzzer builds,
# whose coverage sections are only reached through the fuzzer runtime.
if(NOT KEYBRIDGE_FUZZ)
  add_link_options(LINKER:--gc-sections)
endif()

# Trezors over USB: hidapi's hidraw backend (Trezor One HID) and libusb (WebUSB).
pkg_check_modules(HIDAPI REQUIRED IMPORTED_TARGET hidapi-hidraw)
pkg_check_modules(LIBUSB REQUIRED IMPORTED_TARGET libusb-1.0)
