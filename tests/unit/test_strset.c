// SPDX-License-Identifier: Apache-2.0
#include "pf_test.h"
#include "podfence/strset.h"
#include "podfence/diag.h"

PF_TEST(strset_sorted_unique_and_digest_order_free)
{
	struct pf_strset a = {0}, b = {0};

	ASSERT_EQ(pf_strset_add(&a, "/usr/bin/sleep"), 1, "add");
	ASSERT_EQ(pf_strset_add(&a, "/usr/bin/cat"), 1, "add");
	ASSERT_EQ(pf_strset_add(&a, "/usr/bin/sleep"), 0, "duplicate");
	ASSERT_STREQ(a.v[0], "/usr/bin/cat", "sorted");
	pf_strset_add(&b, "/usr/bin/cat");
	pf_strset_add(&b, "/usr/bin/sleep");
	ASSERT_TRUE(pf_strset_equal(&a, &b), "equal");
	ASSERT_EQ(pf_strset_digest(&a, 1), pf_strset_digest(&b, 1), "digest independent of order");
	ASSERT_NEQ(pf_strset_digest(&a, 1), pf_strset_digest(&a, 2), "seeded");
	pf_strset_free(&a);
	pf_strset_free(&b);
}

PF_TEST(diag_format_has_file_line_col)
{
	struct pf_diags d = {0};
	char buf[256];

	pf_diags_error(&d, "p.yaml", 3, 7, "bad %s", "thing");
	pf_diag_format(&d.v[0], buf, sizeof(buf));
	ASSERT_STREQ(buf, "p.yaml:3:7: error: bad thing", "format");
	ASSERT_EQ(d.n_errors, 1, "errors");
	pf_diags_free(&d);
}
