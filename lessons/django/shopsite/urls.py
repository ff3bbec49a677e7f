from django.urls import path
from shop import views

urlpatterns = [
    path("signup/", views.signup),
    path("report/", views.report),
    path("announce/", views.announce),
    path("reports/celery/", views.report_by_celery),
    path("reports/rq/", views.report_by_rq),
    path("reports/list/", views.report_by_list),
    path("order/", views.order),
]
