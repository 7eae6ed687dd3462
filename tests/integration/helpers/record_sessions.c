/*
 * record_sessions — put relay session results into reports.db through
 * the store API, as the relay would have recorded them at another time
 * (tests only: the report tests need sessions of past days).
 *
 * record_sessions STATE_DIR WHEN DOMAIN TYPE STRINGS MX RESULT COUNT
 *   TYPE tlsa, sts or none; RESULT "" for success, else the RFC 8460
 *   result type; COUNT sessions alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store/reports.h"

int
main(int argc, char **argv)
{
	struct tg_reports_session s;
	struct tg_reports *r;
	struct tg_err err;
	int i, n;

	if (argc != 9 || tg_reports_open(argv[1], 0, &r, &err) != 0)
		return 2;
	memset(&s, 0, sizeof(s));
	s.when = (time_t)atoll(argv[2]);
	s.policy_domain = argv[3];
	s.policy_type = strcmp(argv[4], "tlsa") == 0 ? TG_REPORTS_TLSA :
	    strcmp(argv[4], "sts") == 0 ? TG_REPORTS_STS : TG_REPORTS_NO_POLICY;
	s.policy_strings = argv[5];
	s.mx_hosts = argv[6];
	s.result_type = argv[7];
	s.sending_ip = "192.0.2.25";
	s.receiving_mx_hostname = argv[6];
	s.receiving_ip = "127.0.5.1";
	n = atoi(argv[8]);
	for (i = 0; i < n; i++)
		if (tg_reports_record_session(r, &s, &err) != 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
	tg_reports_close(r);
	return 0;
}
