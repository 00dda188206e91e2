"""Seed data for a Brazilian electronics and phone-parts marketplace (``stocktech seed``).

Idempotent: categories and brands are added by name when missing; demo products are added only
to a demo company that has none yet."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from stocktech.accounts.models import KnownAccount
from stocktech.catalog.models import Brand, Category
from stocktech.products.models import Product
from stocktech.products.repository import ProductRepository
from stocktech.products.service import insert_with_code

# (name, description, icon)
CATEGORIES: list[tuple[str, str, str]] = [
    ("Telas e Displays", "Frontais, displays LCD, OLED e incell para celulares e tablets",
     "smartphone"),
    ("Baterias", "Baterias internas de celulares, tablets e notebooks", "battery"),
    ("Conectores de Carga", "Conectores e placas de carga USB-C, Lightning e micro-USB", "plug"),
    ("Câmeras", "Câmeras traseiras e frontais, lentes e vidros de câmera", "camera"),
    ("Áudio", "Alto-falantes, campainhas, microfones e auriculares", "volume"),
    ("Carcaças e Tampas", "Tampas traseiras, aros, chassis e botões", "layers"),
    ("Flex e Cabos Flat", "Flex de power, volume, biometria e interligação", "cable"),
    ("Placas e Componentes", "Placas-mãe, CIs, conectores FPC e componentes SMD", "cpu"),
    ("Carregadores e Fontes", "Carregadores de parede, veiculares e fontes de notebook",
     "zap"),
    ("Cabos e Adaptadores", "Cabos USB, HDMI, adaptadores e hubs", "link"),
    ("Películas e Capas", "Películas de vidro, hidrogel e capas protetoras", "shield"),
    ("Fones e Caixas de Som", "Fones com e sem fio, caixas de som Bluetooth", "headphones"),
    ("Ferramentas de Reparo", "Chaves, estações de solda, separadoras de tela e insumos",
     "tool"),
    ("Celulares Seminovos", "Aparelhos revisados, com garantia do vendedor", "refresh"),
    ("Tablets e Notebooks", "Aparelhos e peças de tablets e notebooks", "laptop"),
    ("Armazenamento", "Cartões de memória, pendrives e SSDs", "hard-drive"),
]

BRANDS: list[str] = [
    "Apple", "Samsung", "Motorola", "Xiaomi", "LG", "Asus", "Lenovo", "Realme", "Positivo",
    "Multilaser", "Nokia", "Sony", "Huawei", "OnePlus", "JBL", "Intelbras", "Baseus", "Ugreen",
    "i2GO", "ELG", "Kingston", "SanDisk", "Geonav", "Genérica",
]


@dataclass(frozen=True)
class DemoProduct:
    name: str
    category: str
    brand: str
    price: str
    stock: int
    description: str
    specifications: dict[str, Any]


DEMO_PRODUCTS: list[DemoProduct] = [
    DemoProduct("Tela Frontal iPhone 11 Incell", "Telas e Displays", "Apple", "289.90", 25,
                "Display incell com touch, pronta para instalar. Garantia de 90 dias.",
                {"modelo": "iPhone 11", "tecnologia": "Incell", "tamanho": "6,1 polegadas"}),
    DemoProduct("Bateria Galaxy A12 EB-BA217ABY", "Baterias", "Samsung", "79.90", 60,
                "Bateria 5000 mAh compatível com Galaxy A12, A21s e A02.",
                {"capacidade_mah": 5000, "tensao": "3,85 V", "modelo": "EB-BA217ABY"}),
    DemoProduct("Conector de Carga Moto G8 Power", "Conectores de Carga", "Motorola", "34.50",
                80, "Placa com conector USB-C e microfone.",
                {"padrao": "USB-C", "modelo": "Moto G8 Power XT2041"}),
    DemoProduct("Tela Redmi Note 9 com Aro", "Telas e Displays", "Xiaomi", "219.00", 18,
                "Display LCD com aro, cor preta.", {"modelo": "Redmi Note 9", "cor": "Preta"}),
    DemoProduct("Câmera Traseira iPhone XR", "Câmeras", "Apple", "149.90", 12,
                "Módulo de câmera traseira 12 MP.", {"resolucao": "12 MP"}),
    DemoProduct("Flex Power e Volume Galaxy S20", "Flex e Cabos Flat", "Samsung", "42.00", 35,
                "Flex dos botões laterais.", {"modelo": "Galaxy S20 SM-G980"}),
    DemoProduct("Carregador Turbo 25W USB-C", "Carregadores e Fontes", "Samsung", "89.90", 120,
                "Carregador Super Fast Charging com cabo USB-C.",
                {"potencia_w": 25, "entrada": "100-240 V"}),
    DemoProduct("Cabo USB-C para Lightning 1m", "Cabos e Adaptadores", "Baseus", "39.90", 200,
                "Cabo com carga rápida PD 20W, trançado.",
                {"comprimento_m": 1, "potencia_w": 20}),
    DemoProduct("Película de Vidro 3D iPhone 13", "Películas e Capas", "Genérica", "9.90", 500,
                "Película 3D com borda preta, dureza 9H.", {"dureza": "9H"}),
    DemoProduct("Kit Chaves de Precisão 25 em 1", "Ferramentas de Reparo", "Genérica", "45.00",
                40, "Kit com pentalobe, tri-wing, Phillips e ventosa.", {"pecas": 25}),
    DemoProduct("Alto-falante Moto G20", "Áudio", "Motorola", "27.90", 50,
                "Campainha (alto-falante inferior).", {"modelo": "Moto G20 XT2128"}),
    DemoProduct("Cartão microSD 64GB Classe 10", "Armazenamento", "SanDisk", "49.90", 150,
                "Cartão Ultra A1 com adaptador.", {"capacidade_gb": 64, "classe": "10/U1"}),
]


async def seed_taxonomy(session: AsyncSession) -> tuple[int, int]:
    """Add missing categories and brands; returns how many of each were added."""
    added_c = added_b = 0
    known_c = set((await session.execute(select(func.lower(Category.name)))).scalars())
    for name, description, icon in CATEGORIES:
        if name.lower() not in known_c:
            session.add(Category(name=name, description=description, icon=icon))
            added_c += 1
    known_b = set((await session.execute(select(func.lower(Brand.name)))).scalars())
    for brand in BRANDS:
        if brand.lower() not in known_b:
            session.add(Brand(name=brand))
            added_b += 1
    await session.flush()
    return added_c, added_b


async def seed_demo_products(
    session: AsyncSession,
    account_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    company_name: str | None = None,
    products: list[DemoProduct] | None = None,
) -> int:
    """Give a demo company a catalogue (only if it has no product yet)."""
    await session.execute(
        insert(KnownAccount)
        .values(account_id=account_id, status="active", company_name=company_name)
        .on_conflict_do_nothing(index_elements=["account_id"])
    )
    existing = await session.scalar(
        select(func.count()).select_from(Product).where(Product.account_id == account_id)
    )
    if existing:
        return 0
    categories = {c.name: c.id for c in (await session.execute(select(Category))).scalars()}
    brands = {b.name: b.id for b in (await session.execute(select(Brand))).scalars()}
    repo = ProductRepository(session)
    n = 0
    for item in products if products is not None else DEMO_PRODUCTS:
        await insert_with_code(repo, {
            "account_id": account_id, "user_id": user_id, "name": item.name,
            "description": item.description, "category_id": categories[item.category],
            "brand_id": brands[item.brand], "price": Decimal(item.price),
            "stock_quantity": item.stock, "images": [], "specifications": item.specifications,
        })
        n += 1
    return n
