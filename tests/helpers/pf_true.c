/* A static no-op: exits 0. Used as an "allowed" binary in tests and benchmarks. */
int main(void)
{
	return 0;
}
