from django.urls import path
from shop import views

urlpatterns = [
    path("signup/", views.signup),
    path("report/", views.report),
    path("announce/", views.announce),
]
