/*
 * tlsgate init — prepare a machine for the gateway.
 *
 * Creates the state directory (store, keys, certificates) and the spool,
 * creates and migrates the store, and makes a self-signed certificate for
 * relay.hostname so that STARTTLS works on first start; the certificate
 * is recorded in the store as the current MX certificate. Run as root
 * with `user` set, it gives both directories to that user (the daemons
 * drop to it; later CLI commands run as root become it, see cli.h); a
 * user that does not exist yet is named with the command that makes it.
 * Running it again changes nothing that exists and says so.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "core/privs.h"
#include "tls/certfile.h"
#include "util/clock.h"
#include "util/path.h"

#define INIT_CERT_DAYS 365

/* mkdir -p with mode for the last component. */
static int
init_mkdir(const char *path, mode_t mode)
{
	struct tg_err err;

	if (tg_path_mkdirs(path, 0755, mode, &err) != 0)
		return cli_fail(CLI_USAGE, "cannot create %s", err.msg);
	return 0;
}

static int
init_has_cert(const struct tg_store_cert *c, void *arg)
{
	int *found = arg;

	if (c->state == TG_STORE_CERT_CURRENT)
		*found = 1;
	return 0;
}

static int
init_first_cert(const struct tg_conf *conf, struct tg_store *st)
{
	struct tg_store_cert rec;
	struct tg_err err;
	int found = 0;

	if (tg_store_cert_list(st, conf->relay_hostname, TG_STORE_CERT_MX,
	    init_has_cert, &found, &err) != 0)
		return cli_fail(CLI_USAGE, "%s", err.msg);
	if (found) {
		printf("certificate for %s: already present\n",
		    conf->relay_hostname);
		return 0;
	}
	if (tg_certfile_make(conf->state_dir, conf->relay_hostname,
	    INIT_CERT_DAYS, TG_STORE_CERT_CURRENT, &rec, &err) != 0 ||
	    tg_store_cert_add(st, &rec, NULL, &err) != 0)
		return cli_fail(CLI_USAGE, "first certificate: %s", err.msg);
	printf("certificate for %s: created (self-signed, %d days)\n  %s\n",
	    conf->relay_hostname, INIT_CERT_DAYS, rec.cert_path);
	return 0;
}

/* Root: the state and spool directories go to the configured user. */
static int
init_owner(const struct tg_conf *conf)
{
	struct tg_err err;
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0)
		return 0;
	if (conf->user[0] == '\0') {
		printf("owner: root (user is empty: the daemons keep root)\n");
		return 0;
	}
	if (tg_privs_lookup(conf->user, &uid, &gid, &err) != 0) {
		fprintf(stderr, "tlsgate: warning: user '%s' does not exist; "
		    "the daemons will not start until it does:\n"
		    "  adduser --system --group --home %s %s\n"
		    "then run 'tlsgate init' again (or set user = \"\")\n",
		    conf->user, conf->state_dir, conf->user);
		return 0;
	}
	if (tg_privs_chown_tree(conf->state_dir, uid, gid, &err) != 0 ||
	    tg_privs_chown_tree(conf->spool_dir, uid, gid, &err) != 0)
		return cli_fail(CLI_USAGE, "%s", err.msg);
	printf("owner: %s (state and spool directories)\n", conf->user);
	return 0;
}

int
cmd_init(struct cli *cli, int argc, char **argv)
{
	const struct tg_conf *conf;
	struct tg_store *st;
	int rc;

	if (cli_wants_help(argc, argv)) {
		printf("usage: tlsgate init\n  creates state_dir, spool_dir, "
		    "the store and a first self-signed certificate\n");
		return CLI_OK;
	}
	if (argc != 1)
		return cli_fail(CLI_USAGE, "usage: tlsgate init");
	cli->keep_root = 1;
	if ((conf = cli_conf(cli)) == NULL)
		return CLI_USAGE;
	if (init_mkdir(conf->state_dir, 0750) != 0 ||
	    init_mkdir(conf->spool_dir, 0750) != 0)
		return CLI_USAGE;
	if ((st = cli_store_open(cli, 0)) == NULL)
		return CLI_USAGE;
	printf("state directory: %s\nspool directory: %s\nstore: %s/%s\n",
	    conf->state_dir, conf->spool_dir, conf->state_dir,
	    TG_STORE_CONFIG_FILE);
	rc = init_first_cert(conf, st);
	tg_store_close(st);
	if (rc == 0)
		rc = init_owner(conf);
	return rc;
}
