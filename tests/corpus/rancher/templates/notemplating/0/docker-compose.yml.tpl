# notemplating
app:
  image: corral-lab/web:1
  environment:
    LITERAL: "{{ not a template }}"
