"""The Django admin carries the product's name: staff see it every day."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_admin_login_page_names_the_product():
    response = Client().get("/admin/login/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<title>Log in | HMS administration</title>" in page
    assert "HMS administration" in page and "Django administration" not in page


def test_admin_index_names_the_product(admin_site):
    page = admin_site.get("/admin/").content.decode()
    assert "<title>Hospital management | HMS administration</title>" in page
    assert "Django" not in page.split("<body", 1)[1].split("</header>", 1)[0]
