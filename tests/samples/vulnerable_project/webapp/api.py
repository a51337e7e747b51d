from fastapi import Body, FastAPI
from pydantic import BaseModel, Field

app = FastAPI()


class Ticket(BaseModel):
    title: str = Field(..., max_length=200)
    status: str = Field(default="open")
    severity: str = Field(...)


@app.post("/tickets")
def create_ticket(payload: dict = Body(...)):
    return payload
