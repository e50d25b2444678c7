# Install rules and the Debian package. `cmake --build --preset release --target package`
# writes build/release/manifold_<version>_amd64.deb: the binary as /usr/bin/manifold, the
# sample config /etc/manifold/manifold.yaml (a conffile: upgrades keep local changes), the
# systemd unit /lib/systemd/system/manifold.service (deploy/). Dependencies are computed by
# dpkg-shlibdeps from the binary (needs dpkg-dev and file). `cpack -G DEB` in any built
# tree makes the same package from that tree's binary (the deploy tests do so).
include(GNUInstallDirs)

install(TARGETS manifold RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/deploy/manifold.yaml DESTINATION /etc/manifold)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/manifold.service DESTINATION /lib/systemd/system)

set(MANIFOLD_PACKAGE_MAINTAINER "manifold maintainers <maintainers@manifold.invalid>"
    CACHE STRING "Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME manifold)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR manifold)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "MCP aggregator and proxy: one MCP server in front of many")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${MANIFOLD_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The long description; CPack puts the summary above it and formats the lines for dpkg.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "manifold starts or connects to many Model Context Protocol servers (stdio
children, Streamable HTTP, HTTP+SSE or WebSocket endpoints), merges their
tools, prompts and resources into one namespaced catalog, applies a YAML
policy, and serves it to AI hosts over stdio or HTTP.

This package ships the manifold binary, a sample configuration in
/etc/manifold and a hardened systemd unit (not enabled by default).")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# ExecReload= runs /bin/kill, which Debian ships in procps.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "procps")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "nodejs, npm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/deploy/debian/conffiles
  ${PROJECT_SOURCE_DIR}/deploy/debian/postinst
  ${PROJECT_SOURCE_DIR}/deploy/debian/prerm
  ${PROJECT_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Absolute destinations (/etc, /lib/systemd) are intended for this package.
set(CPACK_WARN_ON_ABSOLUTE_INSTALL_DESTINATION OFF)
include(CPack)
