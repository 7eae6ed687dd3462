/*
 * tlsgate-mxd — not built yet: this program only says so.
 */
#include <stdio.h>

int
main(void)
{
	fprintf(stderr, "tlsgate-mxd: not built yet in this version\n");
	return 1;
}
