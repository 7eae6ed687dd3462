#include <stdio.h>
int main(void) { puts("tlsgate"); return 0; }
