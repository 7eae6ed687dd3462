/*
 * dnsupdate — send one RFC 2136 UPDATE with dns/dnsupdate, for the
 * integration test against the lab's Knot.
 *
 *   dnsupdate ADDR PORT KEYFILE ZONE ITEM...
 *   ITEM:  pre OWNER TYPE [RDATA...] --    the RRset is exactly these
 *                                          (none: does not exist)
 *          add "RR" | del "RR" | delset "OWNER TYPE"
 *
 * Prints the outcome's name and text; exit 0 for done, 1 for another
 * outcome, 2 for bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dnsupdate.h"

int
main(int argc, char **argv)
{
	struct tg_dnsupdate_prereq pre[TG_DNSUPDATE_PREREQS_MAX];
	struct tg_dnsupdate_change chg[TG_DNSUPDATE_CHANGES_MAX];
	struct tg_dnsupdate_req req = { 0 };
	struct tg_dnsupdate_result res;
	struct tg_tsig_key key;
	struct tg_err err;
	int i = 5;

	if (argc < 6)
		return 2;
	if (tg_tsig_key_load(argv[3], &key, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 2;
	}
	req.zone = argv[4];
	req.prereq = pre;
	req.change = chg;
	while (i < argc) {
		if (strcmp(argv[i], "pre") == 0 && i + 2 < argc &&
		    req.nprereq < TG_DNSUPDATE_PREREQS_MAX) {
			struct tg_dnsupdate_prereq *p = &pre[req.nprereq++];
			int j = i + 3;

			p->owner = argv[i + 1];
			p->type = argv[i + 2];
			p->rrs = (const char *const *)&argv[j];
			while (j < argc && strcmp(argv[j], "--") != 0)
				j++;
			p->nrrs = (size_t)(j - (i + 3));
			i = j + 1;
		} else if (i + 1 < argc &&
		    req.nchange < TG_DNSUPDATE_CHANGES_MAX &&
		    (strcmp(argv[i], "add") == 0 ||
		    strcmp(argv[i], "del") == 0 ||
		    strcmp(argv[i], "delset") == 0)) {
			chg[req.nchange].op = argv[i][0] == 'a' ?
			    TG_DNSUPDATE_ADD : strcmp(argv[i], "del") == 0 ?
			    TG_DNSUPDATE_DELETE : TG_DNSUPDATE_DELETE_RRSET;
			chg[req.nchange++].rr = argv[i + 1];
			i += 2;
		} else {
			fprintf(stderr, "bad item '%s'\n", argv[i]);
			return 2;
		}
	}
	if (tg_dnsupdate_send(argv[1], (unsigned)atoi(argv[2]), &req, &key,
	    5000, &res, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 2;
	}
	printf("%s rcode=%d tsig_error=%d: %s\n",
	    tg_dnsupdate_outcome_name(res.outcome), res.rcode, res.tsig_error,
	    res.text);
	return res.outcome == TG_DNSUPDATE_DONE ? 0 : 1;
}
