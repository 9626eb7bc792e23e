"""The words an import recognizes: column names (English and Chinese) for each field, and the
values people type for choices, consent and yes/no."""

from customers.models import ConsentState, CustomerKind

# Column names people use, in English and Chinese, besides each field's own label.
ALIASES: dict[str, tuple[str, ...]] = {
    "name": (
        "name",
        "customer",
        "customer name",
        "company",
        "company name",
        "account",
        "account name",
        "organization",
        "organisation",
        "client",
        "名称",
        "姓名",
        "公司",
        "客户",
        "客户名称",
        "客户名",
        "公司名称",
        "企业名称",
        "单位名称",
    ),
    "kind": ("kind", "type", "customer type", "类型", "客户类型"),
    "email": (
        "email",
        "e-mail",
        "email address",
        "mail",
        "邮箱",
        "电子邮件",
        "电子邮箱",
        "邮件",
        "邮箱地址",
    ),
    "phone": (
        "phone",
        "telephone",
        "tel",
        "phone number",
        "mobile",
        "mobile phone",
        "cell",
        "电话",
        "手机",
        "手机号",
        "手机号码",
        "联系电话",
        "电话号码",
    ),
    "website": ("website", "web", "url", "site", "homepage", "网站", "网址", "官网"),
    "industry": ("industry", "sector", "行业", "所属行业"),
    "company_size": ("company size", "size", "employees", "headcount", "公司规模", "规模"),
    "city": ("city", "town", "城市"),
    "region": ("region", "state", "province", "county", "地区", "省", "省份", "州"),
    "country": ("country", "country code", "国家", "国家代码"),
    "lifecycle_stage": ("stage", "lifecycle stage", "lifecycle", "status", "阶段", "客户阶段"),
    "source": ("source", "lead source", "来源", "客户来源"),
    "owner": (
        "owner",
        "owner email",
        "account owner",
        "sales rep",
        "salesperson",
        "负责人",
        "负责人邮箱",
        "销售",
        "所有者",
    ),
    "tags": ("tags", "tag", "labels", "标签"),
    "needs": ("needs", "notes", "note", "comments", "description", "备注", "需求", "说明"),
    "birth_date": ("birth date", "birthday", "date of birth", "dob", "出生日期", "生日"),
    "gender": ("gender", "sex", "性别"),
    "credit_limit": ("credit limit", "信用额度"),
    "consent_email": ("email consent", "email opt-in", "email opt in", "邮件同意"),
    "consent_sms": ("sms consent", "sms opt-in", "短信同意"),
    "consent_phone": ("phone consent", "phone opt-in", "电话同意"),
}
CONTACT_ALIASES: dict[str, tuple[str, ...]] = {
    "company": (
        "company",
        "company name",
        "customer",
        "account",
        "organization",
        "organisation",
        "employer",
        "公司",
        "公司名称",
        "客户",
        "客户名称",
        "单位",
        "单位名称",
        "企业名称",
    ),
    "full_name": ("name", "full name", "contact", "contact name", "姓名", "联系人", "联系人姓名"),
    "first_name": ("first name", "firstname", "given name", "forename", "名", "名字"),
    "last_name": ("last name", "lastname", "surname", "family name", "姓", "姓氏"),
    "title": ("title", "job title", "position", "职位", "职务", "头衔"),
    "decision_role": ("decision role", "决策角色"),
    "email": ALIASES["email"],
    "phone": ALIASES["phone"],
    "notes": ("notes", "note", "comments", "备注", "说明"),
    "birthday": ("birthday", "birth date", "date of birth", "dob", "生日", "出生日期"),
}

# Words accepted for choices besides their values and labels.
CHOICE_SYNONYMS: dict[str, dict[str, str]] = {
    "kind": {
        "business": CustomerKind.COMPANY,
        "b2b": CustomerKind.COMPANY,
        "organization": CustomerKind.COMPANY,
        "企业": CustomerKind.COMPANY,
        "公司": CustomerKind.COMPANY,
        "person": CustomerKind.INDIVIDUAL,
        "consumer": CustomerKind.INDIVIDUAL,
        "b2c": CustomerKind.INDIVIDUAL,
        "个人": CustomerKind.INDIVIDUAL,
    },
}
_GRANTED_WORDS = ("yes", "y", "true", "1", "optin", "subscribed", "是")
_WITHDRAWN_WORDS = ("no", "n", "false", "0", "optout", "unsubscribed", "否")
CONSENT_WORDS = {
    **{w: ConsentState.GRANTED for w in _GRANTED_WORDS},
    **{w: ConsentState.WITHDRAWN for w in _WITHDRAWN_WORDS},
}
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "t", "x", "是", "✓"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "f", "否"})
