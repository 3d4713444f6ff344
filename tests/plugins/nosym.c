/* Test plug-in: a shared object without the hourglass_plugin symbol. */
int hgtest_not_a_plugin(void);

int hgtest_not_a_plugin(void)
{
    return 42;
}
