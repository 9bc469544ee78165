# Runs at install time (cmake --install, CPack), when CMAKE_INSTALL_PREFIX is final.
#
# The systemd user unit: ExecStart names the installed keybridged. User units are searched in
# $XDG_DATA_HOME/systemd/user (~/.local/share), /usr/local/share/systemd/user and
# /usr/lib/systemd/user, so a /usr prefix (a distribution package) uses lib/, any other share/.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(_keybridge_unit_dir "lib/systemd/user")
  set(_keybridge_udev_dir "lib/udev/rules.d")
else()
  set(_keybridge_unit_dir "${KEYBRIDGE_DATADIR}/systemd/user")
  # udev reads only /etc/udev/rules.d and /usr/lib/udev/rules.d: elsewhere the rules are kept
  # for the user to copy (udev/README.md).
  set(_keybridge_udev_dir "${KEYBRIDGE_DATADIR}/keybridge/udev")
endif()

file(READ "${KEYBRIDGE_UNIT_SOURCE}" _keybridge_unit)
string(REGEX REPLACE "\nExecStart=[^\n]*" "\nExecStart=${CMAKE_INSTALL_PREFIX}/${KEYBRIDGE_BINDIR}/keybridged"
       _keybridge_unit "${_keybridge_unit}")
file(MAKE_DIRECTORY "${KEYBRIDGE_UNIT_STAGING}")
file(WRITE "${KEYBRIDGE_UNIT_STAGING}/keybridged.service" "${_keybridge_unit}")
file(INSTALL "${KEYBRIDGE_UNIT_STAGING}/keybridged.service"
     DESTINATION "${CMAKE_INSTALL_PREFIX}/${_keybridge_unit_dir}"
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

if(KEYBRIDGE_UDEV_RULES)
  file(INSTALL ${KEYBRIDGE_UDEV_RULES} DESTINATION "${CMAKE_INSTALL_PREFIX}/${_keybridge_udev_dir}"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endif()
