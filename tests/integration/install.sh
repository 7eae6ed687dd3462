# make install into a staging root: programs, library, headers, pkg-config
# file, config and directories land where a Debian system expects them, and
# a program builds against the installed library with pkg-config alone.

root="$T/root"
# The same flags as the build under test (make asan: SAN=1), so that
# whatever install rebuilds links with the rest.
check "make install DESTDIR" make -s -C "$TOP" BUILD="$BUILD" ${SAN:+SAN=$SAN} \
    install DESTDIR="$root" PREFIX=/usr
for f in usr/sbin/tlsgate-relayd usr/sbin/tlsgate-controllerd usr/bin/tlsgate \
    usr/lib/libtlsgate.so.0 usr/lib/libtlsgate.a usr/lib/pkgconfig/tlsgate.pc \
    usr/include/tlsgate/util/err.h usr/include/tlsgate/policy/check.h \
    etc/tlsgate/tlsgate.conf lib/systemd/system/tlsgate-relayd.service; do
	check "installed: /$f" test -e "$root/$f"
done
check "state and spool directories" test -d "$root/var/lib/tlsgate" -a -d "$root/var/spool/tlsgate"
expect_eq "the config is readable by the service user (reloads run after the drop)" \
	644 "$(stat -c %a "$root/etc/tlsgate/tlsgate.conf")"
check "installed config parses" "$root/usr/bin/tlsgate" -c "$root/etc/tlsgate/tlsgate.conf" config show
cat > "$T/use.c" <<'C'
#include <stdio.h>
#include "util/dname.h"
int main(void)
{
	char out[TG_DNAME_MAX + 1];
	if (tg_dname_normalize("Example.ORG.", out, sizeof(out), NULL) != 0)
		return 1;
	puts(out);
	return 0;
}
C
# pkg-config with the staging root as sysroot, as a packager would.
export PKG_CONFIG_PATH="$root/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$root"
# Under `make asan` the library itself is instrumented: so must the program be.
san=""
ldd "$root/usr/lib/libtlsgate.so.0" | grep -q libasan && san="-fsanitize=address,undefined"
check "a program builds against the installed library" \
	cc $san -o "$T/use" "$T/use.c" $(pkg-config --cflags tlsgate) -L"$root/usr/lib" -Wl,-rpath,"$root/usr/lib" -ltlsgate
expect_eq "and runs" "example.org" "$("$T/use" 2>&1)"
