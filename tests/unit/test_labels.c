// SPDX-License-Identifier: Apache-2.0
#include "pf_test.h"
#include "podfence/labels.h"

/* Adds a requirement with up to two values (NULL: none). */
static void req(struct pf_selector *s, const char *key, enum pf_sel_op op, const char *v1,
		const char *v2)
{
	struct pf_strset vals = {0};

	if (v1)
		pf_strset_add(&vals, v1);
	if (v2)
		pf_strset_add(&vals, v2);
	ASSERT_OK(pf_selector_add(s, key, op, &vals), "selector_add");
	pf_strset_free(&vals);
}

PF_TEST(labels_sorted_get_replace_equal)
{
	struct pf_labels a = {0}, b = {0};

	ASSERT_OK(pf_labels_set(&a, "tier", "web"), "set");
	ASSERT_OK(pf_labels_set(&a, "app", "shop"), "set");
	ASSERT_OK(pf_labels_set(&a, "tier", "db"), "replace");
	ASSERT_EQ(a.n, 2, "keys unique");
	ASSERT_STREQ(a.v[0].key, "app", "sorted by key");
	ASSERT_STREQ(pf_labels_get(&a, "tier"), "db", "replaced value");
	ASSERT_TRUE(pf_labels_get(&a, "zone") == NULL, "absent");
	ASSERT_EQ(pf_labels_set(&a, NULL, "x"), -EINVAL, "NULL key");
	pf_labels_set(&b, "app", "shop");
	ASSERT_FALSE(pf_labels_equal(&a, &b), "different size");
	pf_labels_set(&b, "tier", "db");
	ASSERT_TRUE(pf_labels_equal(&a, &b), "equal regardless of insertion order");
	pf_labels_set(&b, "tier", "web");
	ASSERT_FALSE(pf_labels_equal(&a, &b), "different value");
	pf_labels_free(&a);
	pf_labels_free(&b);
	pf_labels_free(&a); /* destructors are idempotent */
}

PF_TEST(selector_in_needs_key_and_value)
{
	struct pf_selector s = {.present = true};
	struct pf_labels l = {0};

	req(&s, "app", PF_SEL_IN, "web", "api");
	ASSERT_FALSE(pf_selector_matches(&s, &l), "absent key does not satisfy In");
	pf_labels_set(&l, "app", "db");
	ASSERT_FALSE(pf_selector_matches(&s, &l), "value not in set");
	pf_labels_set(&l, "app", "api");
	ASSERT_TRUE(pf_selector_matches(&s, &l), "value in set");
	pf_labels_set(&l, "app", "");
	ASSERT_FALSE(pf_selector_matches(&s, &l), "empty value is a value");
	pf_selector_free(&s);
	pf_labels_free(&l);
}

PF_TEST(selector_notin_true_when_key_absent)
{
	struct pf_selector s = {.present = true};
	struct pf_labels l = {0};

	req(&s, "env", PF_SEL_NOT_IN, "prod", NULL);
	ASSERT_TRUE(pf_selector_matches(&s, &l), "absent key satisfies NotIn");
	pf_labels_set(&l, "env", "dev");
	ASSERT_TRUE(pf_selector_matches(&s, &l), "other value");
	pf_labels_set(&l, "env", "prod");
	ASSERT_FALSE(pf_selector_matches(&s, &l), "value in set");
	pf_selector_free(&s);
	pf_labels_free(&l);
}

PF_TEST(selector_exists_and_does_not_exist)
{
	struct pf_selector ex = {.present = true}, nex = {.present = true};
	struct pf_labels l = {0};

	req(&ex, "debug", PF_SEL_EXISTS, NULL, NULL);
	req(&nex, "debug", PF_SEL_DOES_NOT_EXIST, NULL, NULL);
	ASSERT_FALSE(pf_selector_matches(&ex, &l), "Exists, absent");
	ASSERT_TRUE(pf_selector_matches(&nex, &l), "DoesNotExist, absent");
	pf_labels_set(&l, "debug", "");
	ASSERT_TRUE(pf_selector_matches(&ex, &l), "Exists, empty value still exists");
	ASSERT_FALSE(pf_selector_matches(&nex, &l), "DoesNotExist, present");
	pf_selector_free(&ex);
	pf_selector_free(&nex);
	pf_labels_free(&l);
}

PF_TEST(selector_empty_matches_everything)
{
	struct pf_selector present = {.present = true}, absent = {0};
	struct pf_labels l = {0};

	ASSERT_TRUE(pf_selector_matches(&present, &l), "{} matches no labels");
	pf_labels_set(&l, "app", "x");
	ASSERT_TRUE(pf_selector_matches(&present, &l), "{} matches any labels");
	/* absent vs present is the caller's decision: matching only evaluates requirements */
	ASSERT_TRUE(pf_selector_matches(&absent, &l), "no requirement");
	ASSERT_TRUE(pf_selector_matches(&present, NULL), "NULL labels are empty");
	pf_labels_free(&l);
}

PF_TEST(selector_requirements_are_anded)
{
	struct pf_selector s = {.present = true};
	struct pf_labels l = {0};

	req(&s, "app", PF_SEL_IN, "web", NULL); /* matchLabels app: web */
	req(&s, "tier", PF_SEL_NOT_IN, "db", NULL);
	req(&s, "canary", PF_SEL_DOES_NOT_EXIST, NULL, NULL);
	pf_labels_set(&l, "app", "web");
	ASSERT_TRUE(pf_selector_matches(&s, &l), "all hold");
	pf_labels_set(&l, "canary", "1");
	ASSERT_FALSE(pf_selector_matches(&s, &l), "one fails");
	pf_selector_free(&s);
	pf_labels_free(&l);
}

PF_TEST(selector_add_copies_values)
{
	struct pf_selector s = {0};
	struct pf_strset vals = {0};

	pf_strset_add(&vals, "a");
	ASSERT_OK(pf_selector_add(&s, "k", PF_SEL_IN, &vals), "add");
	pf_strset_free(&vals);
	ASSERT_OK(pf_selector_add(&s, "k2", PF_SEL_EXISTS, NULL), "no values");
	ASSERT_EQ(s.n, 2, "requirements");
	ASSERT_TRUE(pf_strset_has(&s.reqs[0].values, "a"), "own copy");
	pf_selector_free(&s);
	ASSERT_EQ(s.n, 0, "freed");
}
