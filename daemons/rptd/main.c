/*
 * tlsgate-rptd — not built yet: this program only says so.
 */
#include <stdio.h>

int
main(void)
{
	fprintf(stderr, "tlsgate-rptd: not built yet in this version\n");
	return 1;
}
