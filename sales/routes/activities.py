"""Activities: tasks, my day, the calendar (notifications live in tenancy: they are cross-app)."""

from django.urls import path

from sales.views import activities as views

urlpatterns = [
    path("tasks/", views.task_list, name="task-list"),
    path("tasks/new/", views.task_create, name="task-create"),
    path("tasks/related/", views.task_related_search, name="task-related-search"),
    path("tasks/<int:pk>/", views.task_detail, name="task-detail"),
    path("tasks/<int:pk>/edit/", views.task_edit, name="task-edit"),
    path("tasks/<int:pk>/delete/", views.task_delete, name="task-delete"),
    path("tasks/<int:pk>/toggle/", views.task_toggle, name="task-toggle"),
    path("my-day/", views.my_day, name="my-day"),
    path("calendar/", views.calendar, name="calendar"),
]
