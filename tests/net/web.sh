# tests/net/web.sh — nginx (MTA-STS policy host, TLS-RPT HTTPS receiver)
# and pebble (ACME) for the lab (sourced by tests/net/net.sh).
#
# Besides mta-sts.sts.test, nginx serves MTA-STS fetch variants for the
# failure matrix of RELIABILITY O-13, on the same address, chosen by SNI:
# https://mta-sts.<v>.sts.test/.well-known/mta-sts.txt for each <v> of
# TG_NET_STS_VARIANTS:
#   ok        200 text/plain, a valid enforce policy for mx.sts.test, from
#             $TG_NET_STS_VARIANT_DIR/ok/.well-known/mta-sts.txt (a test may
#             rewrite it; so for every variant)
#   redirect  301 to https://mta-sts.sts.test/.well-known/mta-sts.txt
#   ctype     the valid policy as text/html
#   missing   404
#   error     500
#   big       200 text/plain, 64 KiB + 2 bytes
#   slow      the valid policy padded to 2 KB, sent at 64 bytes/s
#   invalid   200 text/plain, max_age 99999999999
#   wrongname the valid policy, with the certificate of mta-sts.sts.test
#   expired   the valid policy, with a certificate that expired in 2020
# The names are not in DNS until a test calls tg_net_sts_variants_dns,
# which adds `_mta-sts.<v>.sts.test TXT "v=STSv1; id=<v>1;"` and
# `mta-sts.<v>.sts.test A $TG_NET_STS_ADDR` for every variant.

TG_NET_STS_VARIANTS="ok redirect ctype missing error big slow invalid wrongname expired"

_tgn_nginx_conf() {
	local d=$TG_NET_NGINX_DIR c=$TG_NET_CERT_DIR
	cat > "$d/nginx.conf" <<CONF
daemon on;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log info;
events { worker_connections 64; }
http {
    default_type application/octet-stream;
    log_format lab '\$remote_addr "\$request" \$status \$body_bytes_sent "\$ssl_server_name" \$request_body_file';
    access_log $d/access.log lab;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    server {
        listen $TG_NET_STS_ADDR:$TG_NET_STS_PORT ssl;
        server_name mta-sts.sts.test;
        ssl_certificate $c/mta-sts.sts.test.crt;
        ssl_certificate_key $c/mta-sts.sts.test.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        root $d/html;
        location = /.well-known/mta-sts.txt {
            default_type text/plain;
            try_files /.well-known/mta-sts.txt =404;
        }
        # TLS-RPT over HTTPS (RFC 8460 §3): every POSTed body is kept in
        # $d/tlsrpt/ and its file name is in the access log.
        location = /tlsrpt {
            client_body_in_file_only on;
            client_body_temp_path $d/tlsrpt;
            client_max_body_size 1m;
            proxy_pass http://$TG_NET_STS_ADDR:$TG_NET_RPT_BACKEND_PORT/ok;
        }
    }
    server {
        listen $TG_NET_STS_ADDR:$TG_NET_RPT_BACKEND_PORT;
        location / { return 200 "ok\n"; }
    }
CONF
	_tgn_nginx_variants_conf >> "$d/nginx.conf"
	echo "}" >> "$d/nginx.conf"
}

# One server block of a fetch variant: name, certificate base name, and
# the directives of its policy location.
_tgn_nginx_variant() {
	local v=$1 cert=$2 loc=$3 d=$TG_NET_NGINX_DIR
	cat <<CONF
    server {
        listen $TG_NET_STS_ADDR:$TG_NET_STS_PORT ssl;
        server_name mta-sts.$v.sts.test;
        ssl_certificate $cert.crt;
        ssl_certificate_key $cert.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        root $TG_NET_STS_VARIANT_DIR/$v;
        location = /.well-known/mta-sts.txt {
            $loc
        }
    }
CONF
}

_tgn_nginx_variants_conf() {
	local v c=$TG_NET_NGINX_DIR/certs/variants ok
	ok='default_type text/plain; try_files /.well-known/mta-sts.txt =404;'
	for v in $TG_NET_STS_VARIANTS; do
		case "$v" in
		redirect) _tgn_nginx_variant "$v" "$c" \
		    "return 301 https://mta-sts.sts.test/.well-known/mta-sts.txt;" ;;
		ctype) _tgn_nginx_variant "$v" "$c" \
		    'default_type text/html; try_files /.well-known/mta-sts.txt =404;' ;;
		missing) _tgn_nginx_variant "$v" "$c" 'return 404;' ;;
		error) _tgn_nginx_variant "$v" "$c" 'return 500;' ;;
		slow) _tgn_nginx_variant "$v" "$c" "sendfile off; limit_rate 64; $ok" ;;
		wrongname) _tgn_nginx_variant "$v" \
		    "$TG_NET_CERT_DIR/mta-sts.sts.test" "$ok" ;;
		expired) _tgn_nginx_variant "$v" \
		    "$TG_NET_NGINX_DIR/certs/expired" "$ok" ;;
		*) _tgn_nginx_variant "$v" "$c" "$ok" ;;
		esac
	done
}

# The variants' policy files and certificates: one lab certificate naming
# every variant host, and one that expired (lab CA helpers, tests/net/ca.sh).
_tgn_nginx_variants() {
	local v vd san="" c=$TG_NET_NGINX_DIR/certs
	local policy='version: STSv1\r\nmode: enforce\r\nmx: mx.sts.test\r\nmax_age: 86400\r\n'
	mkdir -p "$c" || return 1
	for v in $TG_NET_STS_VARIANTS; do
		vd=$TG_NET_STS_VARIANT_DIR/$v/.well-known
		mkdir -p "$vd" || return 1
		printf '%b' "$policy" > "$vd/mta-sts.txt"
		san="$san${san:+,}DNS:mta-sts.$v.sts.test"
	done
	# 2 KB: unknown keys are ignored by parsers (RFC 8461 §3.2).
	for v in $(seq 1 40); do
		printf 'x-padding-%02d: %040d\r\n' "$v" 0
	done >> "$TG_NET_STS_VARIANT_DIR/slow/.well-known/mta-sts.txt"
	head -c $((64 * 1024 + 2)) /dev/zero | tr '\0' 'x' \
	    > "$TG_NET_STS_VARIANT_DIR/big/.well-known/mta-sts.txt"
	printf 'version: STSv1\r\nmode: enforce\r\nmx: mx.sts.test\r\nmax_age: 99999999999\r\n' \
	    > "$TG_NET_STS_VARIANT_DIR/invalid/.well-known/mta-sts.txt"
	_tgn_openssl_leaf mta-sts.ok.sts.test "$c/variants.key" \
	    "$c/variants.crt" "$san" 30 &&
	_tgn_openssl_expired mta-sts.expired.sts.test "$c/expired.key" \
	    "$c/expired.crt" ||
	    { _tgn_log "variant certificates failed"; return 1; }
}

# tg_net_sts_variants_dns — publish the variants in DNS (one dynamic
# update of sts.test).
tg_net_sts_variants_dns() {
	local v lines=()
	for v in $TG_NET_STS_VARIANTS; do
		lines+=("update add _mta-sts.$v.sts.test. 60 TXT \"v=STSv1; id=${v}1;\"")
		lines+=("update add mta-sts.$v.sts.test. 60 A $TG_NET_STS_ADDR")
	done
	tg_net_update sts.test "${lines[@]}"
}

_tgn_nginx_start() {
	export TG_NET_NGINX_DIR="$TG_NET_DIR/nginx"
	export TG_NET_STS_POLICY_FILE="$TG_NET_NGINX_DIR/html/.well-known/mta-sts.txt"
	export TG_NET_STS_URL="https://mta-sts.sts.test/.well-known/mta-sts.txt"
	export TG_NET_RPT_DIR="$TG_NET_NGINX_DIR/tlsrpt"
	export TG_NET_STS_VARIANT_DIR="$TG_NET_NGINX_DIR/variants"
	local d=$TG_NET_NGINX_DIR
	mkdir -p "$d/html/.well-known" "$d/tmp" "$d/tlsrpt" || return 1
	_tgn_nginx_variants || return 1
	# Workers run as nobody: they write request bodies.
	chown nobody "$d/tmp" "$d/tlsrpt"
	printf 'version: STSv1\r\nmode: enforce\r\nmx: mx.sts.test\r\nmax_age: 86400\r\n' \
	    > "$TG_NET_STS_POLICY_FILE"
	_tgn_nginx_conf
	nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" >>"$d/nginx.out" 2>&1 ||
	    { _tgn_log "nginx did not start (see $d/error.log)"; return 1; }
}

_tgn_nginx_ready() {
	_tgn_wait 10 _tgn_listening "$TG_NET_STS_ADDR:$TG_NET_STS_PORT" ||
	    { _tgn_log "nginx does not listen on $TG_NET_STS_ADDR:$TG_NET_STS_PORT"; return 1; }
}

_tgn_nginx_stop() {
	[ -n "${TG_NET_NGINX_DIR:-}" ] || return 0
	_tgn_kill_pidfile "$TG_NET_NGINX_DIR/nginx.pid"
}

_tgn_pebble_start() {
	export TG_NET_PEBBLE_DIR="$TG_NET_DIR/pebble"
	export TG_NET_PEBBLE_URL="https://$TG_NET_PEBBLE_ADDR:$TG_NET_PEBBLE_PORT/dir"
	export TG_NET_PEBBLE_ROOT="$TG_NET_PEBBLE_DIR/issuer-root.pem"
	local d=$TG_NET_PEBBLE_DIR
	mkdir -p "$d" || return 1
	cat > "$d/pebble.json" <<CONF
{
  "pebble": {
    "listenAddress": "$TG_NET_PEBBLE_ADDR:$TG_NET_PEBBLE_PORT",
    "managementListenAddress": "$TG_NET_PEBBLE_ADDR:$TG_NET_PEBBLE_MGMT_PORT",
    "certificate": "$TG_NET_CERT_DIR/pebble.test.crt",
    "privateKey": "$TG_NET_CERT_DIR/pebble.test.key",
    "httpPort": 80,
    "tlsPort": 443,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false
  }
}
CONF
	PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
	    pebble -config "$d/pebble.json" \
	    -dnsserver "$TG_NET_RESOLVER_ADDR:$TG_NET_RESOLVER_PORT" \
	    >>"$d/pebble.log" 2>&1 &
	echo $! > "$d/pebble.pid"
}

# Pebble is ready when its management interface hands out the root it
# issues from (made fresh at every start); that root is kept in a file.
_tgn_pebble_root() {
	curl -sf --max-time 2 --cacert "$TG_NET_CA_CERT" -o "$TG_NET_PEBBLE_ROOT" \
	    "https://$TG_NET_PEBBLE_ADDR:$TG_NET_PEBBLE_MGMT_PORT/roots/0"
}

_tgn_pebble_ready() {
	_tgn_wait 15 _tgn_listening "$TG_NET_PEBBLE_ADDR:$TG_NET_PEBBLE_PORT" &&
	_tgn_wait 5 _tgn_pebble_root ||
	    { _tgn_log "pebble does not answer (see $TG_NET_PEBBLE_DIR/pebble.log)"; return 1; }
}

_tgn_pebble_stop() {
	[ -n "${TG_NET_PEBBLE_DIR:-}" ] || return 0
	_tgn_kill_pidfile "$TG_NET_PEBBLE_DIR/pebble.pid"
}

# tg_net_lego DIR ARGS... — run lego against the lab pebble, keeping its
# account and certificates in DIR, answering http-01 on $TG_NET_ACME_ADDR:80.
# Example: tg_net_lego "$T/lego" --domains acme.test run
tg_net_lego() {
	local d=$1; shift
	mkdir -p "$d" || return 1
	LEGO_CA_CERTIFICATES="$TG_NET_CA_CERT" timeout 120 lego \
	    --server "$TG_NET_PEBBLE_URL" --path "$d" --accept-tos \
	    --email "admin@$TG_NET_ACME_NAME" --key-type ec256 \
	    --http --http.port "$TG_NET_ACME_ADDR:80" "$@"
}
