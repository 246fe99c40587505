#!/bin/sh
# lint.sh - static checks of what refsync ships: the systemd units, the man
# pages, the example config and the install/uninstall round trip.
# Prints one line per check, "ok <name>" or "not ok <name>: <why>", and
# exits 1 when any check failed. Needs no running systemd; run from anywhere.
set -u
cd "$(dirname "$0")/.." || exit 1
repo=$(pwd)
failed=0
work=$(mktemp -d "${TMPDIR:-/tmp}/refsync-lint.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM

ok() { echo "ok $1"; }
not_ok() { echo "not ok $1: $2"; failed=1; }
# The first line of a file, for a one-line reason.
first_line() { sed -n '/./{p;q;}' "$1" | cut -c1-200; }

SERVICES="refsync.service refsync-full.service refsync@.service refsync-full@.service"
EXPORT_SERVICES="refsync-export.service refsync-export@.service"
UNITS="$SERVICES $EXPORT_SERVICES refsync.timer refsync-full.timer refsync@.timer refsync-full@.timer
refsync-export.timer refsync-export@.timer refsync.path refsync@.path"
VERSION=$(sed -n 's/^VERSION := //p' Makefile)

# --- the units, with their placeholders filled in ----------------------------
# systemd-analyze verify insists that ExecStart= names an executable, so
# @BINDIR@ points at a directory holding refsync: the built one when it
# exists, else a stand-in (the install check below says when it is missing).
bindir=$work/bin
units=$work/units
mkdir -p "$bindir" "$units"
for prog in sync/refsync export/refsync-export; do
	if [ -x "$prog" ]; then
		ln -s "$repo/$prog" "$bindir/${prog##*/}"
	else
		printf '#!/bin/sh\nexit 0\n' >"$bindir/${prog##*/}"
		chmod 0755 "$bindir/${prog##*/}"
	fi
done
for u in $UNITS; do
	if [ ! -f "systemd/$u" ]; then
		not_ok "unit $u" "systemd/$u is missing"
		continue
	fi
	sed -e "s|@BINDIR@|$bindir|g" -e "s|@SYSCONFDIR@|/etc|g" \
		-e "s|@LIBEXECDIR@|/usr/lib/refsync|g" "systemd/$u" >"$units/$u"
done

# What each unit must say, beyond what verify can know.
need() { # need UNIT PATTERN...: every extended regex matches a line of UNIT
	unit=$1
	shift
	[ -f "systemd/$unit" ] || return 0
	missing=""
	for pattern in "$@"; do
		grep -Eq "^($pattern)\$" "systemd/$unit" || missing="$missing '$pattern'"
	done
	if [ -n "$missing" ]; then
		not_ok "settings $unit" "no line matching$missing"
	else
		ok "settings $unit"
	fi
}
for s in $SERVICES; do
	need "$s" 'Type=oneshot' 'TimeoutStartSec=[0-9]+(min|h)' 'SuccessExitStatus=75' \
		'User=refsync' 'StateDirectory=refsync(/%i)?' 'ProtectSystem=strict' \
		'NoNewPrivileges=yes' 'PrivateTmp=yes' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
		'SystemCallFilter=@system-service' 'CapabilityBoundingSet=' 'LoadCredential=.+' \
		'LimitCORE=0'
done
for t in refsync.timer refsync@.timer; do
	need "$t" 'OnCalendar=\*:0/5' 'Persistent=yes' 'RandomizedDelaySec=.+'
done
for t in refsync-full.timer refsync-full@.timer; do
	need "$t" 'OnCalendar=.+' 'Persistent=yes' 'RandomizedDelaySec=.+'
done
# the auditors' reports: readable by group refsync-audit, by nobody else
for s in $EXPORT_SERVICES; do
	need "$s" 'Type=oneshot' 'User=refsync' 'Group=refsync-audit' 'SupplementaryGroups=refsync' \
		'StateDirectory=refsync-reports(/%i)?' 'StateDirectoryMode=0750' 'UMask=0027' \
		'ExecStart=@BINDIR@/refsync-export -c .* --verify' 'ExecStart=@BINDIR@/refsync-export -c .* --format html -o .*' \
		'ProtectSystem=strict' 'NoNewPrivileges=yes' 'PrivateNetwork=yes' 'CapabilityBoundingSet=' 'LimitCORE=0'
done
for t in refsync-export.timer refsync-export@.timer; do
	need "$t" 'OnCalendar=.+' 'Persistent=yes' 'RandomizedDelaySec=.+'
done
need refsync.sysusers 'u refsync - .*' 'g refsync-audit -'
need refsync-full.service 'ExecStart=.* run --full'
need refsync-full@.service 'ExecStart=.* run --full'
need refsync.path 'DirectoryNotEmpty=/var/lib/refsync/spool/new' 'Unit=refsync.service'
need refsync@.path 'DirectoryNotEmpty=/var/lib/refsync/%i/spool/new' 'Unit=refsync@%i.service'

# The four services share one sandbox: everything from the "# --- sandbox"
# line on must be the same text.
sandbox() { sed -n '/^# --- sandbox/,$p' "systemd/$1"; }
sandbox refsync.service >"$work/sandbox.ref"
if [ ! -s "$work/sandbox.ref" ]; then
	not_ok "sandbox shared" "no '# --- sandbox' block in systemd/refsync.service"
else
	differ=""
	for s in $SERVICES; do
		[ -f "systemd/$s" ] || continue
		sandbox "$s" | cmp -s - "$work/sandbox.ref" || differ="$differ $s"
	done
	if [ -n "$differ" ]; then
		not_ok "sandbox shared" "differs from refsync.service in:$differ"
	else
		ok "sandbox shared"
	fi
fi

# The two export services share theirs too.
sandbox refsync-export.service >"$work/sandbox.export"
if [ ! -s "$work/sandbox.export" ] || ! sandbox refsync-export@.service | cmp -s - "$work/sandbox.export"; then
	not_ok "export sandbox shared" "refsync-export@.service's '# --- sandbox' block differs from refsync-export.service's"
else
	ok "export sandbox shared"
fi

# Every config section that has a secret (lib/config.c) is loaded as a
# credential directory by every service, and from the same place; except
# [audit], whose signing key only refsync-export reads (the sync services
# never sign).
sections=$(sed -n 's/^[[:space:]]*\[SECRET_[A-Z_]*\] = { "\([a-z]*\)", "[a-z_]*", "[a-z_]*" },.*/\1/p' \
	lib/config.c | grep -vx audit | sort -u)
if [ -z "$sections" ]; then
	not_ok "credentials" "cannot find secret_keys in lib/config.c"
else
	missing=""
	for s in $SERVICES; do
		[ -f "systemd/$s" ] || continue
		case $s in *@*) dir='@SYSCONFDIR@/refsync/%i.credentials' ;; *) dir='@SYSCONFDIR@/refsync/refsync.credentials' ;; esac
		for sec in $sections; do
			grep -qx "LoadCredential=$sec:$dir/$sec" "systemd/$s" || missing="$missing $s:$sec"
		done
	done
	if [ -n "$missing" ]; then
		not_ok "credentials" "no LoadCredential= for$missing"
	else
		ok "credentials ($(echo $sections | tr ' ' ','))"
	fi
fi

# systemd-analyze verify, offline (it reads the files; PID 1 is not asked).
# A template is checked through an instance of it. Any output is a finding.
if ! command -v systemd-analyze >/dev/null 2>&1; then
	not_ok "verify" "systemd-analyze not found (apt-get install systemd)"
else
	for u in $UNITS; do
		[ -f "$units/$u" ] || continue
		case $u in
		*@.*) target=$units/${u%%@.*}@lint.${u##*.} ;;
		*) target=$units/$u ;;
		esac
		if (cd "$units" && systemd-analyze verify --man=no "$target") >"$work/verify.out" 2>&1 &&
			[ ! -s "$work/verify.out" ]; then
			ok "verify $u"
		else
			not_ok "verify $u" "$(first_line "$work/verify.out")"
		fi
	done

	# systemd-analyze security: the exposure of each service must be 2.0 or
	# lower (--threshold is in tenths).
	for s in $SERVICES $EXPORT_SERVICES; do
		[ -f "$units/$s" ] || continue
		(cd "$units" && systemd-analyze security --offline=true --threshold=20 --no-pager "$units/$s") \
			>"$work/security.out" 2>/dev/null
		rc=$?
		level=$(sed -n 's/^.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$work/security.out")
		if [ -z "$level" ]; then
			not_ok "security $s" "no exposure level in the output of systemd-analyze security"
		elif [ "$rc" != 0 ] || [ "$(echo "$level" | awk '{ print ($1 <= 2.0) }')" != 1 ]; then
			not_ok "security $s" "exposure $level, more than 2.0"
		else
			ok "security $s (exposure $level)"
		fi
	done
fi

# The sysusers.d entry parses and creates the user the services run as.
if ! command -v systemd-sysusers >/dev/null 2>&1; then
	not_ok "sysusers" "systemd-sysusers not found"
else
	mkdir -p "$work/sysroot/etc"
	if systemd-sysusers --dry-run --root="$work/sysroot" "$repo/systemd/refsync.sysusers" \
		>"$work/sysusers.out" 2>&1 && grep -q "user 'refsync'" "$work/sysusers.out"; then
		ok "sysusers"
	else
		not_ok "sysusers" "$(first_line "$work/sysusers.out")"
	fi
fi

# --- man pages -----------------------------------------------------------------
pages=$(ls sync/*.[1-8] hook/*.[1-8] export/*.[1-8] 2>/dev/null)
missing=""
for p in sync/refsync.1 sync/refsync.conf.5 hook/refsync-hook.8 export/refsync-export.1; do
	[ -f "$p" ] || missing="$missing $p"
done
if [ -n "$missing" ]; then
	not_ok "man pages" "missing:$missing"
else
	ok "man pages"
fi
if ! command -v mandoc >/dev/null 2>&1; then
	not_ok "mandoc" "mandoc not found (apt-get install mandoc)"
else
	for p in $pages; do
		if mandoc -T lint -W warning "$p" >"$work/mandoc.out" 2>&1 && [ ! -s "$work/mandoc.out" ]; then
			ok "mandoc $p"
		else
			not_ok "mandoc $p" "$(first_line "$work/mandoc.out")"
		fi
	done
fi

# Every page's footer names the package and its version (.Os), not the system.
bad_os=""
for p in $pages; do
	grep -qx "\.Os refsync $VERSION" "$p" || bad_os="$bad_os $p"
done
if [ -n "$bad_os" ]; then
	not_ok "man page footer" "no '.Os refsync $VERSION' in:$bad_os"
else
	ok "man page footer (refsync $VERSION)"
fi

# refsync-hook(8)'s lighttpd example keeps the hook's errors (without
# server.breakagelog its standard error goes nowhere) and shows one config per
# tenant.
if grep -q '^server.breakagelog *= *"' hook/refsync-hook.8 &&
	[ "$(grep -c '"REFSYNC_CONFIG" => "/etc/refsync/[a-z]*\.conf"' hook/refsync-hook.8)" -ge 3 ]; then
	ok "refsync-hook lighttpd example"
else
	not_ok "refsync-hook lighttpd example" "hook/refsync-hook.8: no server.breakagelog, or no per-tenant REFSYNC_CONFIG"
fi

# What ships names no document that is not shipped (the design notes stay
# with the developers), and asks for no sudo.
shipped="README.md CHANGELOG.md LICENSE systemd/README.md sync/refsync.conf.example $pages"
refs=$(grep -lE '\.\./shared|design\.md|lever-api\.md|crosschq-api\.md|style\.md|\bsudo\b' $shipped 2>/dev/null | tr '\n' ' ')
missing_docs=""
for f in LICENSE CHANGELOG.md; do [ -f "$f" ] || missing_docs="$missing_docs $f"; done
if [ -n "$refs$missing_docs" ]; then
	not_ok "shipped docs" "${refs:+names documents that are not shipped, or sudo: $refs}${missing_docs:+missing:$missing_docs}"
else
	ok "shipped docs"
fi

# config_check.c's list of keys (for "did you mean") is the keys config.c and
# config_template.c accept.
sed -n 's/^[[:space:]]*{ "\([a-z]*\)", "\([a-z_]*\)" },$/\1 \2/p' lib/config_check.c | sort -u >"$work/listed"

# Every key that lib/config.c accepts is described in refsync.conf(5) and
# set, in its section, in the example config.
sed -n -e 's/.*IS("\([a-z]*\)", "\([a-z_]*\)").*/\1 \2/p' \
	-e 's/^[[:space:]]*\[SECRET_[A-Z_]*\] = { "\([a-z]*\)", "\([a-z_]*\)".*/\1 \2/p' \
	lib/config.c | sort -u >"$work/keys"
if [ ! -s "$work/keys" ]; then
	not_ok "config keys" "cannot find the keys in lib/config.c"
else
	undocumented=""
	unset_keys=""
	while read -r section key; do
		grep -q "^\.It Cm $key No = " sync/refsync.conf.5 2>/dev/null ||
			undocumented="$undocumented [$section] $key"
		awk -v s="[$section]" -v k="$key" '
			/^\[/ { in_section = ($1 == s) }
			in_section && $1 == k && $2 == "=" { found = 1 }
			END { exit !found }' sync/refsync.conf.example 2>/dev/null ||
			unset_keys="$unset_keys [$section] $key"
	done <"$work/keys"
	if [ -n "$undocumented" ]; then
		not_ok "config keys documented" "not in sync/refsync.conf.5:$undocumented"
	else
		ok "config keys documented ($(wc -l <"$work/keys") keys)"
	fi
	if [ -n "$unset_keys" ]; then
		not_ok "config keys in example" "not in sync/refsync.conf.example:$unset_keys"
	else
		ok "config keys in example"
	fi
fi

# Every key of a [template NAME] section (lib/config_template.c) is
# described in refsync.conf(5).
{
	grep -o 'strcmp(key, "[a-z_]*")' lib/config_template.c | sed 's/.*"\([a-z_]*\)")/\1/'
	sed -n 's/.*relationship_names\[REL_COUNT\] = {\(.*\)/\1/p; s/^[[:space:]]*"\([a-z]*\)" };$/\1/p' \
		lib/config_template.c | tr -d '",{}' | tr ' ' '\n'
} | grep -v '^$' | sort -u >"$work/tkeys"
if [ "$(wc -l <"$work/tkeys")" -lt 12 ]; then
	not_ok "template keys" "cannot find the template keys in lib/config_template.c"
else
	undocumented=""
	while read -r key; do
		grep -q "^\.It Cm $key No = " sync/refsync.conf.5 2>/dev/null || undocumented="$undocumented $key"
	done <"$work/tkeys"
	if [ -n "$undocumented" ]; then
		not_ok "template keys documented" "not in sync/refsync.conf.5:$undocumented"
	else
		ok "template keys documented ($(wc -l <"$work/tkeys") keys)"
	fi
fi
{ cat "$work/keys"; sed 's/^/template /' "$work/tkeys"; } | sort -u >"$work/accepted"
if [ ! -s "$work/listed" ]; then
	not_ok "suggested keys" "cannot find known_keys in lib/config_check.c"
elif ! cmp -s "$work/listed" "$work/accepted"; then
	not_ok "suggested keys" "lib/config_check.c's known_keys differ from the keys accepted: $(diff "$work/listed" \
		"$work/accepted" | sed -n 's/^\([<>]\) /\1/p' | tr '\n' ' ')"
else
	ok "suggested keys ($(wc -l <"$work/listed") keys)"
fi

# --- make install / make uninstall ----------------------------------------------
root=$work/root
if [ ! -x sync/refsync ] || [ ! -x hook/refsync-hook ] || [ ! -x export/refsync-export ]; then
	not_ok "install" "binaries not built (run make first)"
elif ! make -s install DESTDIR="$root" PREFIX=/usr >"$work/install.out" 2>&1; then
	not_ok "install" "make install failed: $(tail -n 1 "$work/install.out")"
else
	problems=""
	check_file() { # check_file PATH MODE
		if [ ! -f "$root$1" ]; then
			problems="$problems $1 missing;"
		elif [ "$(stat -c %a "$root$1")" != "$2" ]; then
			problems="$problems $1 has mode $(stat -c %a "$root$1"), not $2;"
		fi
	}
	check_file /usr/bin/refsync 755
	check_file /usr/bin/refsync-export 755
	check_file /usr/lib/refsync/refsync-hook 755
	check_file /etc/refsync/refsync.conf 640
	check_file /usr/lib/sysusers.d/refsync.conf 644
	check_file /usr/share/refsync/audit.xsd 644
	for f in README.md CHANGELOG.md LICENSE README.systemd.md refsync.conf.example; do
		check_file "/usr/share/doc/refsync/$f" 644
	done
	for p in $pages; do
		name=${p##*/}
		page=/usr/share/man/man${name##*.}/$name
		check_file "$page" 644
		[ -f "$root$page" ] || continue
		# the paths follow PREFIX (here /usr), the footer names the version
		if grep -q '/usr/local' "$root$page"; then
			problems="$problems $page names /usr/local (PREFIX is /usr);"
		fi
		grep -qx "\.Os refsync $VERSION" "$root$page" || problems="$problems $page has no '.Os refsync $VERSION';"
		if ! mandoc -T lint -W warning "$root$page" >"$work/mandoc.out" 2>&1 || [ -s "$work/mandoc.out" ]; then
			problems="$problems $page: $(first_line "$work/mandoc.out");"
		fi
	done
	grep -q '"/usr/lib/refsync/refsync-hook"' "$root/usr/share/man/man8/refsync-hook.8" 2>/dev/null ||
		problems="$problems refsync-hook.8 does not name /usr/lib/refsync/refsync-hook;"
	grep -q '/usr/share/refsync/audit.xsd' "$root/usr/share/man/man1/refsync-export.1" 2>/dev/null ||
		problems="$problems refsync-export.1 does not name /usr/share/refsync/audit.xsd where it was installed;"
	for u in $UNITS; do
		[ -f "systemd/$u" ] || continue
		f=/usr/lib/systemd/system/$u
		check_file "$f" 644
		if [ -f "$root$f" ] && grep -q '@[A-Z]*@' "$root$f"; then
			problems="$problems $f keeps a placeholder;"
		fi
	done
	if ! grep -q '^ExecStart=/usr/bin/refsync -c /etc/refsync/refsync.conf run$' \
		"$root/usr/lib/systemd/system/refsync.service" 2>/dev/null; then
		problems="$problems refsync.service does not run /usr/bin/refsync with /etc/refsync/refsync.conf;"
	fi
	if [ -n "$problems" ]; then
		not_ok "install" "$problems"
	else
		ok "install"
	fi

	# everything install put goes, directories included (DESTDIR's own tree
	# of empty parents aside)
	if ! make -s uninstall DESTDIR="$root" PREFIX=/usr >"$work/uninstall.out" 2>&1; then
		not_ok "uninstall" "make uninstall failed: $(tail -n 1 "$work/uninstall.out")"
	else
		left=$(cd "$root" && find . ! -type d | sed 's|^\.||' | head -n 5 | tr '\n' ' ')
		dirs=$(cd "$root" && find . -type d \( -name refsync -o -name 'refsync*' \) | sed 's|^\.||' | tr '\n' ' ')
		if [ -n "$left$dirs" ]; then
			not_ok "uninstall" "left behind: $left$dirs"
		else
			ok "uninstall"
		fi
	fi

	# a config changed since install stays, and uninstall says so
	if ! make -s install DESTDIR="$root" PREFIX=/usr >"$work/install.out" 2>&1; then
		not_ok "uninstall keeps a changed config" "make install failed: $(tail -n 1 "$work/install.out")"
	else
		echo "# changed by the admin" >>"$root/etc/refsync/refsync.conf"
		make -s uninstall DESTDIR="$root" PREFIX=/usr >"$work/uninstall.out" 2>&1
		left=$(cd "$root" && find . ! -type d | sed 's|^\.||' | tr '\n' ' ')
		if [ "$left" != "/etc/refsync/refsync.conf " ]; then
			not_ok "uninstall keeps a changed config" "left behind: '$left', want only /etc/refsync/refsync.conf"
		elif ! grep -q "^make uninstall: kept $root/etc/refsync/refsync.conf (a config changed since install" \
			"$work/uninstall.out"; then
			not_ok "uninstall keeps a changed config" "it did not say so: $(first_line "$work/uninstall.out")"
		else
			ok "uninstall keeps a changed config, and says so"
		fi
	fi
fi

exit "$failed"
