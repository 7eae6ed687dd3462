# tests/net/web.sh — nginx (MTA-STS policy host, TLS-RPT HTTPS receiver)
# and pebble (ACME) for the lab (sourced by tests/net/net.sh).

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
}
CONF
}

_tgn_nginx_start() {
	export TG_NET_NGINX_DIR="$TG_NET_DIR/nginx"
	export TG_NET_STS_POLICY_FILE="$TG_NET_NGINX_DIR/html/.well-known/mta-sts.txt"
	export TG_NET_STS_URL="https://mta-sts.sts.test/.well-known/mta-sts.txt"
	export TG_NET_RPT_DIR="$TG_NET_NGINX_DIR/tlsrpt"
	local d=$TG_NET_NGINX_DIR
	mkdir -p "$d/html/.well-known" "$d/tmp" "$d/tlsrpt" || return 1
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
