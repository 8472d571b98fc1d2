"""Generates benches/newsletter.html: a realistic ~60 KB marketing email with ~40 links.
Deterministic (fixed seed); rerun only to change the fixture."""
import random

random.seed(7)
WORDS = ("spring sale new arrivals free shipping limited offer members exclusive discover "
         "collection style comfort quality design handmade organic cotton linen summer weekend").split()


def sentence(n):
    return " ".join(random.choice(WORDS) for _ in range(n)).capitalize() + "."


HEAD = '''<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
<meta name="viewport" content="width=device-width, initial-scale=1.0" />
<title>Spring newsletter</title>
<!--[if mso]><xml><o:OfficeDocumentSettings><o:PixelsPerInch>96</o:PixelsPerInch></o:OfficeDocumentSettings></xml><![endif]-->
<style type="text/css">
body{margin:0;padding:0;-webkit-text-size-adjust:100%;-ms-text-size-adjust:100%}
table,td{border-collapse:collapse;mso-table-lspace:0pt;mso-table-rspace:0pt}
img{border:0;height:auto;line-height:100%;outline:none;text-decoration:none}
@media only screen and (max-width:620px){.container{width:100%!important}.col{display:block!important;width:100%!important}}
</style>
</head>
<body style="margin:0;padding:0;background-color:#f4f4f4;">
<div style="display:none;max-height:0;overflow:hidden;">Hi {{first_name ?? there}}, our spring collection is here &mdash; up to 40% off this week only.</div>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f4f4f4;">
<tr><td align="center" style="padding:24px 12px;">
<table role="presentation" class="container" width="600" cellpadding="0" cellspacing="0" border="0" style="background-color:#ffffff;border-radius:8px;">
<tr><td style="padding:24px;text-align:center;"><a href="https://shop.example.com/?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=spring" data-beacon-tag="logo"><img src="https://cdn.example.com/logo.png" width="160" height="40" alt="Example Shop" style="display:block;margin:0 auto;" /></a></td></tr>
<tr><td style="padding:0 24px;font-family:Helvetica,Arial,sans-serif;font-size:16px;line-height:24px;color:#333333;">
<p style="margin:0 0 16px 0;">Hi {{first_name ?? there}},</p>
'''

PRODUCT = '''<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="margin:0 0 24px 0;">
<tr><td class="col" width="200" valign="top" style="padding:0 12px 0 0;"><a href="https://shop.example.com/products/{slug}?utm_source=newsletter&amp;utm_medium=email&amp;utm_content=image-{i}"><img src="https://cdn.example.com/products/{slug}.jpg" width="200" height="200" alt="{alt}" style="display:block;width:100%;max-width:200px;border-radius:4px;" /></a></td>
<td class="col" valign="top" style="font-family:Helvetica,Arial,sans-serif;font-size:15px;line-height:22px;color:#555555;">
<h2 style="margin:0 0 8px 0;font-size:20px;line-height:26px;color:#111111;">{title}</h2>
<p style="margin:0 0 12px 0;">{p1}</p>
<p style="margin:0 0 12px 0;font-size:14px;line-height:20px;color:#666666;">{p2}</p>
<p style="margin:0 0 12px 0;"><strong style="color:#111111;">${price}.00</strong> &nbsp;<span style="text-decoration:line-through;color:#999999;">${was}.00</span></p>
<a href="https://shop.example.com/products/{slug}?utm_source=newsletter&amp;utm_medium=email&amp;utm_content=link-{i}" style="color:#1a73e8;text-decoration:underline;font-weight:bold;">Shop now &rarr;</a>
</td></tr></table>
'''

TAIL = '''<table role="presentation" cellpadding="0" cellspacing="0" border="0" align="center" style="margin:24px auto;"><tr><td align="center">
<!--[if mso]>
<v:roundrect xmlns:v="urn:schemas-microsoft-com:vml" xmlns:w="urn:schemas-microsoft-com:office:word" href="https://shop.example.com/sale?utm_source=newsletter&amp;utm_medium=email&amp;utm_content=cta" style="height:48px;v-text-anchor:middle;width:240px;" arcsize="12%" stroke="f" fillcolor="#1a73e8">
<w:anchorlock/><center style="color:#ffffff;font-family:Helvetica,Arial,sans-serif;font-size:16px;font-weight:bold;">See the whole sale</center>
</v:roundrect>
<![endif]-->
<!--[if !mso]><!-- -->
<a href="https://shop.example.com/sale?utm_source=newsletter&amp;utm_medium=email&amp;utm_content=cta" style="background-color:#1a73e8;border-radius:6px;color:#ffffff;display:inline-block;font-family:Helvetica,Arial,sans-serif;font-size:16px;font-weight:bold;line-height:48px;text-align:center;text-decoration:none;width:240px;">See the whole sale</a>
<!--<![endif]-->
</td></tr></table>
</td></tr>
<tr><td style="padding:24px;background-color:#fafafa;font-family:Helvetica,Arial,sans-serif;font-size:12px;line-height:18px;color:#888888;text-align:center;border-radius:0 0 8px 8px;">
<p style="margin:0 0 8px 0;"><a href="https://twitter.com/example" style="color:#888888;">Twitter</a> &middot; <a href="https://www.instagram.com/example/" style="color:#888888;">Instagram</a> &middot; <a href="https://www.facebook.com/example" style="color:#888888;">Facebook</a></p>
<p style="margin:0 0 8px 0;">Example Shop &middot; 1 Market Street &middot; Springfield</p>
<p style="margin:0 0 8px 0;"><a href="https://shop.example.com/help" style="color:#888888;">Help centre</a> &middot; <a href="mailto:support@example.com" style="color:#888888;">support@example.com</a></p>
<p style="margin:0;">You receive this email as {{email}}. <a href="https://t.example.com/preferences?c={{contact_id}}" style="color:#888888;">Preferences</a> &middot; <a href="https://t.example.com/unsubscribe?c={{contact_id}}" style="color:#888888;">Unsubscribe</a></p>
</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
'''

parts = [HEAD]
for i in range(17):
    slug = f"{random.choice(WORDS)}-{random.choice(WORDS)}-{i}"
    price = random.randint(15, 250)
    parts.append(PRODUCT.format(
        slug=slug, i=i, alt=slug.replace("-", " "), title=sentence(4),
        p1=f"{sentence(random.randint(40, 60))} {sentence(random.randint(25, 40))}",
        p2=" ".join(sentence(random.randint(30, 50)) for _ in range(5)),
        price=price, was=price + 20))
parts.append(TAIL)
html = "".join(parts)
with open("newsletter.html", "w") as f:
    f.write(html)
print(len(html), "bytes,", html.count("<a "), "<a> tags")
