# tests/net/ca.sh — the lab CA (sourced by tests/net/net.sh).
#
# One ECDSA P-256 root made fresh for every test and leaf certificates for
# every lab host name. Files, for a host H, in $TG_NET_CERT_DIR:
#   H.key       private key         H.crt   leaf certificate
#   H.pem       key + certificate chain as the server sends it
# plus mx.dane-ok.test-next.{key,crt,pem} (a second key for rollovers) and
# decoy.key (a key no server uses: the TLSA of mx.dane-bad.test), each with
# its .spki, and root.spki (TLSA "2 1 1" data of the lab root).
# The root is never installed system-wide: tools get it by file name.

_tgn_openssl_leaf() { # name key crt san-list days
	openssl req -x509 -CA "$TG_NET_CA_CERT" -CAkey "$TG_NET_CA_KEY" \
	    -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$2" -out "$3" -subj "/CN=$1" -days "$5" \
	    -addext "subjectAltName=$4" -addext "basicConstraints=CA:FALSE" \
	    -addext "keyUsage=critical,digitalSignature" \
	    -addext "extendedKeyUsage=serverAuth" 2>>"$TG_NET_CA_DIR/openssl.log"
}

# A certificate whose validity ended in the past: "openssl ca" is the one
# OpenSSL 3.0 command that takes explicit start and end dates.
_tgn_openssl_expired() { # name key crt
	local d=$TG_NET_CA_DIR/db
	mkdir -p "$d" && : > "$d/index.txt"
	cat > "$TG_NET_CA_DIR/ca.cnf" <<CNF
[ ca ]
default_ca = lab
[ lab ]
database = $d/index.txt
new_certs_dir = $d
rand_serial = yes
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[ any ]
commonName = supplied
CNF
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$2" -out "$d/$1.csr" -subj "/CN=$1" \
	    -addext "subjectAltName=DNS:$1" -addext "basicConstraints=CA:FALSE" \
	    -addext "extendedKeyUsage=serverAuth" \
	    2>>"$TG_NET_CA_DIR/openssl.log" &&
	openssl ca -batch -config "$TG_NET_CA_DIR/ca.cnf" -notext \
	    -cert "$TG_NET_CA_CERT" -keyfile "$TG_NET_CA_KEY" \
	    -startdate 20200101000000Z -enddate 20200201000000Z \
	    -in "$d/$1.csr" -out "$3" >>"$TG_NET_CA_DIR/openssl.log" 2>&1
}

# tg_net_spki_sha256 FILE — hex SHA-256 of the SubjectPublicKeyInfo of a
# certificate or private key (the data of a TLSA "x 1 1" record).
tg_net_spki_sha256() {
	local out
	out=$(set -o pipefail
	case "$(head -c 30 "$1")" in
	*CERTIFICATE*) openssl x509 -in "$1" -noout -pubkey |
	    openssl pkey -pubin -outform DER | sha256sum ;;
	*) openssl pkey -in "$1" -pubout -outform DER | sha256sum ;;
	esac) || return 1
	echo "${out%% *}"
}

# _tgn_ca_host NAME KIND — key, certificate, served chain and SPKI hash
# (H.spki, hex) of one host; KIND as in TG_NET_HOSTS.
_tgn_ca_host() {
	local h=$1 c=$2 d=$TG_NET_CA_DIR san="DNS:$1"
	case "$h" in mx.cname-target.test) san="$san,DNS:mx.cname.test" ;; esac
	case "$c" in
	leaf | chain) _tgn_openssl_leaf "$h" "$d/$h.key" "$d/$h.crt" "$san" 30 ;;
	wrong) _tgn_openssl_leaf wrong-name.ta-wrongname.test "$d/$h.key" \
	    "$d/$h.crt" DNS:wrong-name.ta-wrongname.test 30 ;;
	expired) _tgn_openssl_expired "$h" "$d/$h.key" "$d/$h.crt" ;;
	*) return 1 ;;
	esac || return 1
	case "$c" in
	chain | wrong) cat "$d/$h.key" "$d/$h.crt" "$TG_NET_CA_CERT" > "$d/$h.pem" ;;
	*) cat "$d/$h.key" "$d/$h.crt" > "$d/$h.pem" ;;
	esac
	_tgn_spki_file "$d/$h.key" "$d/$h.spki"
}

_tgn_spki_file() { # key-or-cert out
	tg_net_spki_sha256 "$1" > "$2.tmp" && [ -s "$2.tmp" ] && mv "$2.tmp" "$2"
}

_tgn_ca_up() {
	export TG_NET_CA_DIR="$TG_NET_DIR/ca"
	export TG_NET_CERT_DIR="$TG_NET_CA_DIR"
	export TG_NET_CA_CERT="$TG_NET_CA_DIR/root.pem"
	export TG_NET_CA_KEY="$TG_NET_CA_DIR/root.key"
	local d=$TG_NET_CA_DIR h c pids="" p rc=0
	mkdir -p "$d" || return 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$TG_NET_CA_KEY" -out "$TG_NET_CA_CERT" -days 30 \
	    -subj "/O=tlsgate lab/CN=tlsgate lab root" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" \
	    2>>"$d/openssl.log" || { _tgn_log "lab root failed"; return 1; }
	# Hosts are independent: make them side by side.
	while read -r h _ _ c; do
		[ -n "$h" ] || continue
		_tgn_ca_host "$h" "$c" & pids="$pids $!"
	done <<< "$TG_NET_HOSTS"
	_tgn_ca_extras & pids="$pids $!"
	_tgn_spki_file "$TG_NET_CA_CERT" "$d/root.spki" || rc=1
	for p in $pids; do wait "$p" || rc=1; done
	[ "$rc" = 0 ] || { _tgn_log "lab certificates failed (see $d/openssl.log)"; return 1; }
	chmod 644 "$d"/*.crt "$TG_NET_CA_CERT"
}

# The second key of mx.dane-ok.test (for rollovers), the decoy key behind
# the TLSA of mx.dane-bad.test, and the HTTPS certificates.
_tgn_ca_extras() {
	local d=$TG_NET_CA_DIR
	_tgn_openssl_leaf mx.dane-ok.test "$d/mx.dane-ok.test-next.key" \
	    "$d/mx.dane-ok.test-next.crt" "DNS:mx.dane-ok.test" 30 &&
	cat "$d/mx.dane-ok.test-next.key" "$d/mx.dane-ok.test-next.crt" \
	    > "$d/mx.dane-ok.test-next.pem" &&
	_tgn_spki_file "$d/mx.dane-ok.test-next.key" "$d/mx.dane-ok.test-next.spki" &&
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$d/decoy.key" 2>>"$d/openssl.log" &&
	_tgn_spki_file "$d/decoy.key" "$d/decoy.spki" &&
	_tgn_openssl_leaf mta-sts.sts.test "$d/mta-sts.sts.test.key" \
	    "$d/mta-sts.sts.test.crt" "DNS:mta-sts.sts.test" 30 &&
	_tgn_openssl_leaf "$TG_NET_GW_STS_NAME" "$d/$TG_NET_GW_STS_NAME.key" \
	    "$d/$TG_NET_GW_STS_NAME.crt" "DNS:$TG_NET_GW_STS_NAME" 30 &&
	_tgn_openssl_leaf pebble.test "$d/pebble.test.key" "$d/pebble.test.crt" \
	    "DNS:pebble.test,IP:$TG_NET_PEBBLE_ADDR" 30
}
