from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("runs/", views.run_list, name="run-list"),
    path("runs/now/", views.run_now, name="run-now"),
    path("runs/<int:pk>/status/", views.run_status, name="run-status"),
]
